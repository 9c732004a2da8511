#pragma once
#include <napi.h>

namespace portsnare {
// nftAvailable(): null if libnftables could be loaded, else why not (a string).
Napi::Value NftAvailable(const Napi::CallbackInfo& info);
// nftRun(json, dryRun, commands): a Promise of { code, stdout, stderr }.
Napi::Value NftRun(const Napi::CallbackInfo& info);
}  // namespace portsnare
