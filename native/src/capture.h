// Capture: a live libpcap capture (stealth modes) polled on the Node event
// loop, handing JS one Buffer per batch of packets. Also owns listDevices()
// (pcap_findalldevs).
#ifndef PORTSNARE_CAPTURE_H_
#define PORTSNARE_CAPTURE_H_

#include <napi.h>
#include <pcap/pcap.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace portsnare {

// JS: new Capture(device, filter,
//                 { snaplen, bufferSize, immediate, timeoutMs, maxBatch },
//                 onBatch)
//   onBatch(batch, count)    for each batch of 1..maxBatch packets
//   onBatch(null, 0, error)  once, when the capture fails after opening; it
//                            then delivers nothing more (close() it)
// A batch is `count` records, each in host byte order:
//   u32 ts_sec, u32 ts_usec, u32 caplen, u32 len, caplen bytes,
//   zero padding to a multiple of 4.
// Errors thrown by the constructor and setFilter(), and the one passed to
// onBatch, have `code` set to a libpcap status name ("PCAP_ERROR",
// "PCAP_ERROR_NO_SUCH_DEVICE", ...).
class Capture : public Napi::ObjectWrap<Capture> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

  explicit Capture(const Napi::CallbackInfo& info);
  ~Capture() override;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value SetFilter(const Napi::CallbackInfo& info);
  Napi::Value GetLinkType(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnPacket(u_char* user, const pcap_pkthdr* header,
                       const u_char* bytes);
  // Reads up to max_batch_ packets into batch_; returns false (with the
  // message in *error) if pcap_dispatch failed.
  bool Drain(std::string* error);
  bool ApplyFilter(Napi::Env env, const std::string& filter);
  void DeliverBatch(Napi::Object self);
  void DeliverError(Napi::Object self, const std::string& message);
  void Deliver(Napi::Object self, napi_value batch, napi_value count,
               napi_value error);
  void StopPolling();
  void StopAndClose();

  pcap_t* pcap_ = nullptr;
  int link_type_ = -1;
  uint32_t max_batch_ = 1;
  std::vector<uint8_t> batch_;  // records of the batch being collected
  uint32_t count_ = 0;          // records in batch_
  uv_poll_t* poll_ = nullptr;   // heap-allocated; freed in uv_close's callback
  bool referenced_ = false;     // holding a strong ref on our JS object
  Napi::FunctionReference on_batch_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

// JS: listDevices() -> [{ name, flags }] (flags: libpcap's PCAP_IF_* bits)
Napi::Value ListDevices(const Napi::CallbackInfo& info);

}  // namespace portsnare

#endif  // PORTSNARE_CAPTURE_H_
