// Capture and listDevices: see capture.h for the JS-facing contract.
#include "capture.h"

#include <climits>
#include <cmath>
#include <cstring>

namespace portsnare {
namespace {

constexpr size_t kRecordHeaderBytes = 4 * sizeof(uint32_t);
// libpcap's own upper bound on snaplen (MAXIMUM_SNAPLEN).
constexpr double kMaxSnaplen = 262144;
// A batch is copied into one Buffer; this only stops absurd values.
constexpr double kMaxBatchLimit = 1 << 20;

// The name of a libpcap status code, used as the JS error's `code`.
const char* StatusName(int status) {
  switch (status) {
    case PCAP_ERROR_BREAK: return "PCAP_ERROR_BREAK";
    case PCAP_ERROR_NOT_ACTIVATED: return "PCAP_ERROR_NOT_ACTIVATED";
    case PCAP_ERROR_ACTIVATED: return "PCAP_ERROR_ACTIVATED";
    case PCAP_ERROR_NO_SUCH_DEVICE: return "PCAP_ERROR_NO_SUCH_DEVICE";
    case PCAP_ERROR_RFMON_NOTSUP: return "PCAP_ERROR_RFMON_NOTSUP";
    case PCAP_ERROR_NOT_RFMON: return "PCAP_ERROR_NOT_RFMON";
    case PCAP_ERROR_PERM_DENIED: return "PCAP_ERROR_PERM_DENIED";
    case PCAP_ERROR_IFACE_NOT_UP: return "PCAP_ERROR_IFACE_NOT_UP";
    case PCAP_ERROR_CANTSET_TSTAMP_TYPE:
      return "PCAP_ERROR_CANTSET_TSTAMP_TYPE";
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return "PCAP_ERROR_PROMISC_PERM_DENIED";
    case PCAP_ERROR_TSTAMP_PRECISION_NOTSUP:
      return "PCAP_ERROR_TSTAMP_PRECISION_NOTSUP";
    default: return "PCAP_ERROR";
  }
}

Napi::Error PcapError(Napi::Env env, const char* code,
                      const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

// Reads options[name] as an integer in [min, max] into *out; otherwise throws
// (TypeError or RangeError) and returns false.
bool ReadInteger(Napi::Object options, const char* name, double min,
                 double max, int* out) {
  Napi::Env env = options.Env();
  Napi::Value value = options.Get(name);
  if (!value.IsNumber()) {
    Napi::TypeError::New(env, std::string("options.") + name +
                                  " must be a number")
        .ThrowAsJavaScriptException();
    return false;
  }
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= min && number <= max) || std::floor(number) != number) {
    Napi::RangeError::New(env, std::string("options.") + name +
                                   " must be an integer in " +
                                   std::to_string(static_cast<int64_t>(min)) +
                                   ".." +
                                   std::to_string(static_cast<int64_t>(max)))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int>(number);
  return true;
}

}  // namespace

void Capture::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "Capture",
      {
          InstanceMethod<&Capture::Close>("close"),
          InstanceMethod<&Capture::Stats>("stats"),
          InstanceMethod<&Capture::SetFilter>("setFilter"),
          InstanceAccessor<&Capture::GetLinkType>("linkType"),
      });
  exports.Set("Capture", ctor);
}

Capture::Capture(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Capture>(info) {
  Napi::Env env = info.Env();
  // Throwing here makes ObjectWrap delete this instance, so every early return
  // must leave nothing open (the destructor copes with a partial object).
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() ||
      !info[2].IsObject() || !info[3].IsFunction()) {
    Napi::TypeError::New(env, "Capture(device, filter, options, onBatch)")
        .ThrowAsJavaScriptException();
    return;
  }
  const std::string device = info[0].As<Napi::String>().Utf8Value();
  const std::string filter = info[1].As<Napi::String>().Utf8Value();
  Napi::Object options = info[2].As<Napi::Object>();
  int snaplen = 0, buffer_size = 0, timeout_ms = 0, max_batch = 0;
  if (!ReadInteger(options, "snaplen", 1, kMaxSnaplen, &snaplen) ||
      !ReadInteger(options, "bufferSize", 1, INT_MAX, &buffer_size) ||
      !ReadInteger(options, "timeoutMs", 0, INT_MAX, &timeout_ms) ||
      !ReadInteger(options, "maxBatch", 1, kMaxBatchLimit, &max_batch)) {
    return;
  }
  Napi::Value immediate = options.Get("immediate");
  if (!immediate.IsBoolean()) {
    Napi::TypeError::New(env, "options.immediate must be a boolean")
        .ThrowAsJavaScriptException();
    return;
  }
  max_batch_ = static_cast<uint32_t>(max_batch);

  char errbuf[PCAP_ERRBUF_SIZE];
  errbuf[0] = '\0';
  pcap_ = pcap_create(device.c_str(), errbuf);
  if (pcap_ == nullptr) {
    PcapError(env, "PCAP_ERROR", "pcap_create " + device + ": " + errbuf)
        .ThrowAsJavaScriptException();
    return;
  }
  // These only fail on an already activated handle.
  pcap_set_snaplen(pcap_, snaplen);
  pcap_set_promisc(pcap_, 0);
  pcap_set_buffer_size(pcap_, buffer_size);
  // Immediate mode makes libpcap use TPACKET_V2 (one wakeup per packet);
  // without it, TPACKET_V3 hands over a block when full or after timeoutMs.
  const bool immediate_mode = immediate.As<Napi::Boolean>().Value();
  pcap_set_immediate_mode(pcap_, immediate_mode ? 1 : 0);
  pcap_set_timeout(pcap_, timeout_ms);
  // A positive result is a warning (e.g. timestamp type not supported): the
  // capture works, so it is not reported.
  const int status = pcap_activate(pcap_);
  if (status < 0) {
    std::string message = pcap_geterr(pcap_);
    if (message.empty()) message = pcap_statustostr(status);
    StopAndClose();
    PcapError(env, StatusName(status),
              "pcap_activate " + device + ": " + message)
        .ThrowAsJavaScriptException();
    return;
  }
  link_type_ = pcap_datalink(pcap_);
  if (!ApplyFilter(env, filter)) {
    StopAndClose();
    return;
  }
  if (pcap_setnonblock(pcap_, 1, errbuf) != 0) {
    StopAndClose();
    PcapError(env, "PCAP_ERROR", "pcap_setnonblock " + device + ": " + errbuf)
        .ThrowAsJavaScriptException();
    return;
  }
  const int fd = pcap_get_selectable_fd(pcap_);
  if (fd < 0) {
    StopAndClose();
    PcapError(env, "PCAP_ERROR", device + " has no selectable fd")
        .ThrowAsJavaScriptException();
    return;
  }

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    StopAndClose();
    Napi::Error::New(env, "napi_get_uv_event_loop failed")
        .ThrowAsJavaScriptException();
    return;
  }
  auto* poll = new uv_poll_t;
  int rc = uv_poll_init(loop, poll, fd);
  if (rc != 0) {
    delete poll;  // a failed init leaves the handle unregistered
    StopAndClose();
    PcapError(env, "PCAP_ERROR",
              std::string("uv_poll_init: ") + uv_strerror(rc))
        .ThrowAsJavaScriptException();
    return;
  }
  poll->data = this;
  poll_ = poll;
  // Level-triggered: while the ring holds packets we did not take (a batch
  // stopped at maxBatch), the fd stays readable and we are called again on the
  // next loop turn. The kernel reports POLLIN while a ring block (V3) or frame
  // (V2) is handed to user space and not yet released, which is the case for
  // any partly read block (capture.test.ts checks this with maxBatch 4).
  rc = uv_poll_start(poll_, UV_READABLE, OnPoll);
  if (rc != 0) {
    StopAndClose();
    PcapError(env, "PCAP_ERROR",
              std::string("uv_poll_start: ") + uv_strerror(rc))
        .ThrowAsJavaScriptException();
    return;
  }

  on_batch_ = Napi::Persistent(info[3].As<Napi::Function>());
  // No resource object: see TcpTrap (it would keep this object alive forever).
  async_context_ =
      std::make_unique<Napi::AsyncContext>(env, "PortsnareCapture");
  // Keep the JS object (and so this instance) alive while polling; close()
  // drops the reference.
  Ref();
  referenced_ = true;
}

Capture::~Capture() {
  // Normally close() has run already. Otherwise we are here because the
  // constructor threw or the environment is being torn down.
  StopAndClose();
}

bool Capture::ApplyFilter(Napi::Env env, const std::string& filter) {
  bpf_program program;
  if (pcap_compile(pcap_, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) !=
      0) {
    PcapError(env, "PCAP_ERROR",
              "bad capture filter \"" + filter + "\": " + pcap_geterr(pcap_))
        .ThrowAsJavaScriptException();
    return false;
  }
  // On an active handle libpcap also re-filters, in user space, packets still
  // in the ring that the old kernel filter let through.
  const int rc = pcap_setfilter(pcap_, &program);
  pcap_freecode(&program);
  if (rc != 0) {
    PcapError(env, "PCAP_ERROR",
              "pcap_setfilter \"" + filter + "\": " + pcap_geterr(pcap_))
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

void Capture::StopPolling() {
  if (poll_ == nullptr) return;
  // libuv requires the watcher to be stopped before the fd is closed (by
  // pcap_close); the handle's memory may only be freed in the close callback.
  uv_poll_stop(poll_);
  poll_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) {
    delete reinterpret_cast<uv_poll_t*>(handle);
  });
  poll_ = nullptr;
}

// Eager: once this returns nothing of ours keeps the event loop alive (unlike
// the pcap npm module, whose close waits for one more packet).
void Capture::StopAndClose() {
  StopPolling();
  if (pcap_ != nullptr) {
    pcap_close(pcap_);
    pcap_ = nullptr;
  }
  batch_.clear();
  batch_.shrink_to_fit();
  count_ = 0;
}

Napi::Value Capture::Close(const Napi::CallbackInfo& info) {
  StopAndClose();
  // Drop the callback now so that whatever it closes over can be collected.
  on_batch_.Reset();
  if (referenced_) {
    referenced_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

Napi::Value Capture::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (pcap_ == nullptr) {
    PcapError(env, "PCAP_ERROR", "stats(): the capture is closed")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  pcap_stat stats{};
  if (pcap_stats(pcap_, &stats) != 0) {
    PcapError(env, "PCAP_ERROR",
              std::string("pcap_stats: ") + pcap_geterr(pcap_))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("received", Napi::Number::New(env, stats.ps_recv));
  result.Set("dropped", Napi::Number::New(env, stats.ps_drop));
  result.Set("ifDropped", Napi::Number::New(env, stats.ps_ifdrop));
  return result;
}

Napi::Value Capture::SetFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "setFilter(filter)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (pcap_ == nullptr) {
    PcapError(env, "PCAP_ERROR", "setFilter(): the capture is closed")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // A filter that does not compile leaves the old one in place.
  ApplyFilter(env, info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

Napi::Value Capture::GetLinkType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), link_type_);
}

void Capture::OnPacket(u_char* user, const pcap_pkthdr* header,
                       const u_char* bytes) {
  auto* self = reinterpret_cast<Capture*>(user);
  const uint32_t caplen = header->caplen;
  const size_t padded = (static_cast<size_t>(caplen) + 3) & ~size_t{3};
  const size_t at = self->batch_.size();
  self->batch_.resize(at + kRecordHeaderBytes + padded);  // zero-filled
  const uint32_t fields[4] = {static_cast<uint32_t>(header->ts.tv_sec),
                              static_cast<uint32_t>(header->ts.tv_usec), caplen,
                              header->len};
  uint8_t* record = self->batch_.data() + at;
  std::memcpy(record, fields, kRecordHeaderBytes);
  std::memcpy(record + kRecordHeaderBytes, bytes, caplen);
  ++self->count_;
}

bool Capture::Drain(std::string* error) {
  while (count_ < max_batch_) {
    // Asking for no more than the batch has room for keeps a batch at
    // maxBatch packets even when one TPACKET_V3 block holds more; libpcap
    // resumes inside the block on the next call.
    const int n = pcap_dispatch(pcap_, static_cast<int>(max_batch_ - count_),
                                OnPacket, reinterpret_cast<u_char*>(this));
    if (n == 0 || n == PCAP_ERROR_BREAK) return true;
    if (n < 0) {
      *error = pcap_geterr(pcap_);
      if (error->empty()) *error = pcap_statustostr(n);
      return false;
    }
  }
  return true;
}

void Capture::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  auto* capture = static_cast<Capture*>(handle->data);
  if (capture == nullptr) return;
  Napi::Env env = capture->Env();
  Napi::HandleScope scope(env);
  // A local handle to our own object keeps this instance alive even if the
  // callback calls close() and drops the last reference.
  Napi::Object self = capture->Value();

  // On POLLERR libuv has already stopped the watcher and reports UV_EBADF;
  // reading anyway delivers what is queued and gets libpcap's own account of
  // the error ("The interface disappeared").
  std::string error;
  bool ok = capture->Drain(&error);
  if (ok && status < 0) {
    ok = false;
    error = std::string("uv_poll: ") + uv_strerror(status);
  }
  if (capture->count_ > 0) capture->DeliverBatch(self);
  // The callback may have closed us; otherwise stop polling so that a dead
  // handle cannot spin the loop, and report the failure once.
  if (!ok && capture->pcap_ != nullptr) {
    capture->StopPolling();
    capture->DeliverError(self, error);
  }
}

void Capture::DeliverBatch(Napi::Object self) {
  Napi::Env env = self.Env();
  Napi::HandleScope scope(env);
  Napi::Buffer<uint8_t> batch =
      Napi::Buffer<uint8_t>::Copy(env, batch_.data(), batch_.size());
  const uint32_t count = count_;
  batch_.clear();  // keeps its capacity for the next batch
  count_ = 0;
  if (env.IsExceptionPending()) {  // the copy failed (out of memory)
    napi_fatal_exception(env, env.GetAndClearPendingException().Value());
    return;
  }
  Deliver(self, batch, Napi::Number::New(env, count), env.Undefined());
}

void Capture::DeliverError(Napi::Object self, const std::string& message) {
  Napi::Env env = self.Env();
  Napi::HandleScope scope(env);
  if (on_batch_.IsEmpty()) return;
  Napi::Error error =
      PcapError(env, "PCAP_ERROR", "capture failed: " + message);
  Deliver(self, env.Null(), Napi::Number::New(env, 0), error.Value());
}

// Calls onBatch. We run straight from libuv with no JS frame below us, so an
// exception cannot propagate anywhere: hand it to Node as uncaught (process
// 'uncaughtException', or exit). Polling goes on either way.
void Capture::Deliver(Napi::Object self, napi_value batch, napi_value count,
                      napi_value error) {
  Napi::Env env = self.Env();
  on_batch_.MakeCallback(self, {batch, count, error}, *async_context_);
  if (!env.IsExceptionPending()) return;
  Napi::Error exception = env.GetAndClearPendingException();
  napi_fatal_exception(env, exception.Value());
}

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pcap_if_t* devices = nullptr;
  char errbuf[PCAP_ERRBUF_SIZE];
  errbuf[0] = '\0';
  if (pcap_findalldevs(&devices, errbuf) != 0) {
    PcapError(env, "PCAP_ERROR", std::string("pcap_findalldevs: ") + errbuf)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env);
  uint32_t index = 0;
  for (pcap_if_t* device = devices; device != nullptr; device = device->next) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", Napi::String::New(env, device->name));
    entry.Set("flags", Napi::Number::New(env, device->flags));
    result.Set(index++, entry);
  }
  pcap_freealldevs(devices);
  return result;
}

}  // namespace portsnare
