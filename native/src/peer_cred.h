// peerCredentials: who is at the other end of a connected unix socket (SO_PEERCRED), so the
// control client can check that root's daemon answers, and the server that root asks.
#ifndef PORTSNARE_PEER_CRED_H_
#define PORTSNARE_PEER_CRED_H_

#include <napi.h>

namespace portsnare {

// peerCredentials(fd) -> { pid, uid, gid } | null (not a unix socket, or getsockopt failed)
Napi::Value PeerCredentials(const Napi::CallbackInfo& info);

}  // namespace portsnare

#endif  // PORTSNARE_PEER_CRED_H_
