// TcpTrap: one listening TCP socket on a trap port, created and accepted on by
// native code so that each hit's peer address comes straight from accept4().
// Node's net module loses it for connections the scanner resets right away
// (nodejs/node#23858). Also owns finishConnection(), which sends the optional
// banner and closes an accepted connection.
#ifndef PORTSNARE_TCP_TRAP_H_
#define PORTSNARE_TCP_TRAP_H_

#include <napi.h>
#include <uv.h>

#include <initializer_list>
#include <memory>

namespace portsnare {

// JS: new TcpTrap(family: 4 | 6, port, backlog, onConnection)
//   onConnection(connFd, peerAddress, peerPort)       for each accepted socket
//   onConnection(-1, '', 0, errnoName)                when accept4() fails
// The callee owns connFd and must pass it to finishConnection() exactly once.
class TcpTrap : public Napi::ObjectWrap<TcpTrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

  explicit TcpTrap(const Napi::CallbackInfo& info);
  ~TcpTrap() override;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetPort(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  void AcceptPending();
  void ReportAcceptError(Napi::Object self, int err);
  bool Deliver(Napi::Object self, std::initializer_list<napi_value> args);
  void StopAndCloseFd();

  int fd_ = -1;
  int family_ = 4;
  int port_ = 0;
  uv_poll_t* poll_ = nullptr;  // heap-allocated; freed in uv_close's callback
  bool referenced_ = false;    // holding a strong ref on our JS object
  Napi::FunctionReference on_connection_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

// JS: finishConnection(connFd, banner: Buffer | null)
Napi::Value FinishConnection(const Napi::CallbackInfo& info);

}  // namespace portsnare

#endif  // PORTSNARE_TCP_TRAP_H_
