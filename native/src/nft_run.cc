// nftRun: runs nft commands in this process through libnftables, the library the nft program is a
// thin front end to, instead of spawning nft for every ban: spawning cost ~16 ms at idle and ~45 ms
// under a 100 kpps flood (fork, exec, the library's start-up, all competing with the capture for
// two cores; bench Part 2), which was most of a scanner's time from first probe to ban.
// The library is opened with dlopen at first use, so the addon builds without libnftables' headers
// and runs where it is missing (nftAvailable says why, and the caller spawns nft instead). The few
// declarations below are libnftables' stable public API (include/nftables/libnftables.h, 0.9.x to
// 1.1). Each call gets a fresh context on a worker thread, serialised by a mutex: a context is not
// thread-safe, and the responder sends one batch at a time anyway.
#include "nft_run.h"

#include <dlfcn.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace portsnare {
namespace {

struct nft_ctx;
constexpr unsigned int kOutputJson = 1u << 4;  // NFT_CTX_OUTPUT_JSON

struct Library {
  nft_ctx* (*ctx_new)(uint32_t flags) = nullptr;
  void (*ctx_free)(nft_ctx* ctx) = nullptr;
  void (*set_dry_run)(nft_ctx* ctx, bool dry) = nullptr;
  unsigned int (*output_get_flags)(nft_ctx* ctx) = nullptr;
  void (*output_set_flags)(nft_ctx* ctx, unsigned int flags) = nullptr;
  int (*buffer_output)(nft_ctx* ctx) = nullptr;
  int (*buffer_error)(nft_ctx* ctx) = nullptr;
  const char* (*get_output_buffer)(nft_ctx* ctx) = nullptr;
  const char* (*get_error_buffer)(nft_ctx* ctx) = nullptr;
  int (*run_cmd_from_buffer)(nft_ctx* ctx, const char* buf) = nullptr;
  std::string error;  // empty once loaded
};

std::once_flag load_once;
Library library;
std::mutex run_mutex;

template <typename T>
bool Symbol(void* handle, const char* name, T& out) {
  out = reinterpret_cast<T>(dlsym(handle, name));
  if (out == nullptr) library.error = std::string("libnftables lacks ") + name;
  return out != nullptr;
}

void Load() {
  void* handle = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    library.error = why != nullptr ? why : "libnftables.so.1 could not be opened";
    return;
  }
  bool ok = Symbol(handle, "nft_ctx_new", library.ctx_new) &&
            Symbol(handle, "nft_ctx_free", library.ctx_free) &&
            Symbol(handle, "nft_ctx_set_dry_run", library.set_dry_run) &&
            Symbol(handle, "nft_ctx_output_get_flags", library.output_get_flags) &&
            Symbol(handle, "nft_ctx_output_set_flags", library.output_set_flags) &&
            Symbol(handle, "nft_ctx_buffer_output", library.buffer_output) &&
            Symbol(handle, "nft_ctx_buffer_error", library.buffer_error) &&
            Symbol(handle, "nft_ctx_get_output_buffer", library.get_output_buffer) &&
            Symbol(handle, "nft_ctx_get_error_buffer", library.get_error_buffer) &&
            Symbol(handle, "nft_run_cmd_from_buffer", library.run_cmd_from_buffer);
  if (ok) library.error.clear();
}

const Library& Loaded() {
  std::call_once(load_once, Load);
  return library;
}

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, bool json, bool dry_run, std::string commands)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), json_(json),
        dry_run_(dry_run), commands_(std::move(commands)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    const Library& lib = Loaded();
    if (!lib.error.empty()) {
      SetError(lib.error);
      return;
    }
    std::lock_guard<std::mutex> lock(run_mutex);
    nft_ctx* ctx = lib.ctx_new(0);  // NFT_CTX_DEFAULT
    if (ctx == nullptr) {
      SetError("nft_ctx_new failed");
      return;
    }
    lib.buffer_output(ctx);
    lib.buffer_error(ctx);
    if (json_) lib.output_set_flags(ctx, lib.output_get_flags(ctx) | kOutputJson);
    lib.set_dry_run(ctx, dry_run_);
    code_ = lib.run_cmd_from_buffer(ctx, commands_.c_str()) == 0 ? 0 : 1;
    const char* out = lib.get_output_buffer(ctx);
    const char* err = lib.get_error_buffer(ctx);
    stdout_ = out != nullptr ? out : "";
    stderr_ = err != nullptr ? err : "";
    lib.ctx_free(ctx);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("code", Napi::Number::New(env, code_));
    result.Set("stdout", Napi::String::New(env, stdout_));
    result.Set("stderr", Napi::String::New(env, stderr_));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  bool json_;
  bool dry_run_;
  std::string commands_;
  int code_ = 1;
  std::string stdout_;
  std::string stderr_;
};

}  // namespace

Napi::Value NftAvailable(const Napi::CallbackInfo& info) {
  const Library& lib = Loaded();
  if (lib.error.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), lib.error);
}

Napi::Value NftRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsBoolean() || !info[1].IsBoolean() || !info[2].IsString()) {
    Napi::TypeError::New(env, "nftRun(json, dryRun, commands)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new RunWorker(env, info[0].As<Napi::Boolean>().Value(),
                               info[1].As<Napi::Boolean>().Value(),
                               info[2].As<Napi::String>().Utf8Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace portsnare
