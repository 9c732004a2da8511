// Module init for portsnare_native: registers each native class and function.
// Everything here is loaded by src/native.ts and nowhere else.
#include <napi.h>

#include "capture.h"
#include "nft_run.h"
#include "peer_cred.h"
#include "port_probe.h"
#include "tcp_trap.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  portsnare::Capture::Init(env, exports);
  exports.Set("listDevices",
              Napi::Function::New(env, portsnare::ListDevices, "listDevices"));
  portsnare::TcpTrap::Init(env, exports);
  exports.Set("finishConnection",
              Napi::Function::New(env, portsnare::FinishConnection,
                                  "finishConnection"));
  exports.Set("portInUse", Napi::Function::New(env, portsnare::PortInUse, "portInUse"));
  exports.Set("nftAvailable", Napi::Function::New(env, portsnare::NftAvailable, "nftAvailable"));
  exports.Set("nftRun", Napi::Function::New(env, portsnare::NftRun, "nftRun"));
  exports.Set("peerCredentials",
              Napi::Function::New(env, portsnare::PeerCredentials, "peerCredentials"));
  return exports;
}

}  // namespace

NODE_API_MODULE(portsnare_native, Init)
