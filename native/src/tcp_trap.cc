// TcpTrap and finishConnection: see tcp_trap.h for the JS-facing contract.
#include "tcp_trap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <string>

namespace portsnare {
namespace {

// Upper bound on accept4() calls per readable event. The poll is
// level-triggered, so whatever is left is picked up on the next loop turn; the
// bound keeps a connection flood from monopolising the event loop.
constexpr int kMaxAcceptsPerWakeup = 256;

// "EADDRINUSE" etc. for a positive errno (libuv codes are negated errnos).
std::string ErrnoName(int err) {
  char buf[64];
  return uv_err_name_r(-err, buf, sizeof buf);
}

// An Error shaped like Node's own system errors, so JS can treat both alike:
// code is the errno name, errno the negated errno (Node's convention, usable
// with util.getSystemErrorName), syscall the call that failed.
Napi::Error SystemError(Napi::Env env, int err, const char* syscall,
                        const std::string& where) {
  char text[128];
  uv_strerror_r(-err, text, sizeof text);
  std::string code = ErrnoName(err);
  Napi::Error error = Napi::Error::New(
      env, std::string(syscall) + " " + code + ": " + text + " " + where);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

// socket + setsockopt + bind + listen on the wildcard address. Returns the
// listening fd, or -errno with *syscall set to the failing call; on failure
// the socket is already closed.
int OpenListener(int family, int port, int backlog, const char** syscall) {
  const int domain = family == 6 ? AF_INET6 : AF_INET;
  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *syscall = "socket";
    return -errno;
  }
  auto fail = [fd, syscall](const char* call) {
    int err = errno;  // close() may overwrite errno
    close(fd);
    *syscall = call;
    return -err;
  };

  // SO_REUSEADDR only lets us reuse ports held by TIME_WAIT leftovers of a
  // previous run; bind still fails with EADDRINUSE against a live listener.
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    return fail("setsockopt");

  sockaddr_storage ss{};
  socklen_t len;
  if (family == 6) {
    // IPv6 traps see IPv6 peers only; IPv4 peers are the family-4 trap's.
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
      return fail("setsockopt");
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = in6addr_any;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *sin6;
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    sin->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *sin;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return fail("bind");
  if (listen(fd, backlog) != 0) return fail("listen");
  return fd;
}

// Writes the peer's address text into buf and returns its port (0 and "" for
// an address family we do not expect).
int PeerText(const sockaddr_storage& ss, char* buf, socklen_t size) {
  buf[0] = '\0';
  if (ss.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, buf, size);
    return ntohs(sin->sin_port);
  }
  if (ss.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, size);
    return ntohs(sin6->sin6_port);
  }
  return 0;
}

}  // namespace

void TcpTrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "TcpTrap",
      {
          InstanceMethod<&TcpTrap::Close>("close"),
          InstanceAccessor<&TcpTrap::GetFd>("fd"),
          InstanceAccessor<&TcpTrap::GetPort>("port"),
      });
  exports.Set("TcpTrap", ctor);
}

TcpTrap::TcpTrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<TcpTrap>(info) {
  Napi::Env env = info.Env();
  // Throwing here makes ObjectWrap delete this instance, so every early return
  // must leave nothing open (the destructor copes with a partial object).
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() ||
      !info[2].IsNumber() || !info[3].IsFunction()) {
    Napi::TypeError::New(env, "TcpTrap(family, port, backlog, onConnection)")
        .ThrowAsJavaScriptException();
    return;
  }
  const int family = info[0].As<Napi::Number>().Int32Value();
  const double port = info[1].As<Napi::Number>().DoubleValue();
  const int backlog = info[2].As<Napi::Number>().Int32Value();
  if (family != 4 && family != 6) {
    Napi::RangeError::New(env, "family must be 4 or 6")
        .ThrowAsJavaScriptException();
    return;
  }
  if (!(port >= 0 && port <= 65535) || std::floor(port) != port) {
    Napi::RangeError::New(env, "port must be an integer in 0..65535")
        .ThrowAsJavaScriptException();
    return;
  }
  if (backlog < 0) {
    Napi::RangeError::New(env, "backlog must not be negative")
        .ThrowAsJavaScriptException();
    return;
  }
  family_ = family;
  const std::string where = (family == 6 ? "[::]:" : "0.0.0.0:") +
                            std::to_string(static_cast<int>(port));

  const char* syscall = "";
  int fd = OpenListener(family, static_cast<int>(port), backlog, &syscall);
  if (fd < 0) {
    SystemError(env, -fd, syscall, where).ThrowAsJavaScriptException();
    return;
  }
  fd_ = fd;

  // Read the port back so that port 0 (tests) reports the one the kernel chose.
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    int err = errno;
    StopAndCloseFd();
    SystemError(env, err, "getsockname", where).ThrowAsJavaScriptException();
    return;
  }
  char unused[INET6_ADDRSTRLEN];
  port_ = PeerText(ss, unused, sizeof unused);

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    StopAndCloseFd();
    Napi::Error::New(env, "napi_get_uv_event_loop failed")
        .ThrowAsJavaScriptException();
    return;
  }
  auto* poll = new uv_poll_t;
  int rc = uv_poll_init(loop, poll, fd_);
  if (rc != 0) {
    delete poll;  // a failed init leaves the handle unregistered
    StopAndCloseFd();
    SystemError(env, -rc, "uv_poll_init", where).ThrowAsJavaScriptException();
    return;
  }
  poll->data = this;
  poll_ = poll;
  rc = uv_poll_start(poll_, UV_READABLE, OnPoll);
  if (rc != 0) {
    StopAndCloseFd();
    SystemError(env, -rc, "uv_poll_start", where).ThrowAsJavaScriptException();
    return;
  }

  on_connection_ = Napi::Persistent(info[3].As<Napi::Function>());
  // No resource object: napi_async_init may hold it strongly, and the context
  // lives as long as this object, which would then never be collected.
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "PortsnareTcpTrap");
  // Keep the JS object (and so this instance) alive while polling; close()
  // drops the reference.
  Ref();
  referenced_ = true;
}

TcpTrap::~TcpTrap() {
  // Normally close() has run already. Otherwise we are here because the
  // constructor threw or the environment is being torn down.
  StopAndCloseFd();
}

void TcpTrap::StopAndCloseFd() {
  if (poll_ != nullptr) {
    // libuv requires the watcher to be stopped before the fd is closed;
    // uv_close also removes the fd from epoll immediately, but the handle's
    // memory may only be freed in the close callback.
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) {
      delete reinterpret_cast<uv_poll_t*>(handle);
    });
    poll_ = nullptr;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

Napi::Value TcpTrap::Close(const Napi::CallbackInfo& info) {
  StopAndCloseFd();
  // Drop the callback now so that whatever it closes over can be collected;
  // AcceptPending() checks IsEmpty() in case close() ran inside the callback.
  on_connection_.Reset();
  if (referenced_) {
    referenced_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

Napi::Value TcpTrap::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), fd_);
}

Napi::Value TcpTrap::GetPort(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), port_);
}

void TcpTrap::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  auto* trap = static_cast<TcpTrap*>(handle->data);
  if (trap == nullptr) return;
  Napi::Env env = trap->Env();
  Napi::HandleScope scope(env);
  if (status < 0) {
    // libuv has already stopped this watcher; report it like a failed accept.
    trap->ReportAcceptError(trap->Value(), -status);
    return;
  }
  trap->AcceptPending();
}

void TcpTrap::AcceptPending() {
  Napi::Env env = Env();
  Napi::HandleScope outer(env);
  // A local handle to our own object keeps this instance alive even if the
  // callback calls close() and drops the last reference.
  Napi::Object self = Value();

  for (int i = 0; i < kMaxAcceptsPerWakeup && fd_ >= 0; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    // accept4 fills in the peer address from the kernel's socket, even when
    // the peer has already reset: this is what Node's net cannot give us.
    int conn = accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED) continue;
      // EMFILE, ENFILE, ENOBUFS, ...: the connection stays queued, so report
      // once and let the next readable event retry instead of spinning here.
      ReportAcceptError(self, err);
      return;
    }
    char text[INET6_ADDRSTRLEN];
    int port = PeerText(ss, text, sizeof text);
    Napi::HandleScope scope(env);
    // fd_ >= 0 implies on_connection_ is set: close() clears both together.
    bool ok = Deliver(self, {Napi::Number::New(env, conn),
                             Napi::String::New(env, text),
                             Napi::Number::New(env, port)});
    if (!ok) return;  // the rest waits for the next wakeup
  }
}

void TcpTrap::ReportAcceptError(Napi::Object self, int err) {
  Napi::Env env = self.Env();
  Napi::HandleScope scope(env);
  if (on_connection_.IsEmpty()) return;
  Deliver(self, {Napi::Number::New(env, -1), Napi::String::New(env, ""),
                 Napi::Number::New(env, 0),
                 Napi::String::New(env, ErrnoName(err))});
}

// Calls onConnection. We run straight from libuv with no JS frame below us,
// so an exception cannot propagate anywhere: hand it to Node as uncaught
// (process 'uncaughtException', or exit) and return false.
bool TcpTrap::Deliver(Napi::Object self,
                      std::initializer_list<napi_value> args) {
  Napi::Env env = self.Env();
  on_connection_.MakeCallback(self, args, *async_context_);
  if (!env.IsExceptionPending()) return true;
  Napi::Error error = env.GetAndClearPendingException();
  napi_fatal_exception(env, error.Value());
  return false;
}

Napi::Value FinishConnection(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "finishConnection(connFd, banner)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const bool has_banner = info.Length() > 1 && info[1].IsBuffer();
  if (!has_banner && info.Length() > 1 && !info[1].IsNull() &&
      !info[1].IsUndefined()) {
    Napi::TypeError::New(env, "banner must be a Buffer or null")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd < 0) return env.Undefined();

  if (has_banner) {
    auto banner = info[1].As<Napi::Buffer<uint8_t>>();
    if (banner.Length() > 0) {
      // Best effort, as PortSentry: one nonblocking send. A peer that already
      // reset (EPIPE, ECONNRESET) or a full send buffer (EAGAIN) only means
      // the banner is not delivered. MSG_NOSIGNAL: no SIGPIPE for a dead peer.
      ssize_t sent = send(fd, banner.Data(), banner.Length(),
                          MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)sent;
    }
  }
  // Queued banner bytes are still delivered, followed by FIN.
  close(fd);
  return env.Undefined();
}

}  // namespace portsnare
