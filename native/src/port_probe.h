// portInUse: the exact, cheap "is a service there?" check behind an alert in the packet modes.
#ifndef PORTSNARE_PORT_PROBE_H_
#define PORTSNARE_PORT_PROBE_H_

#include <napi.h>

namespace portsnare {

// portInUse(protocol 'tcp'|'udp', address, port) -> 'in-use' | 'free' | 'unknown'
Napi::Value PortInUse(const Napi::CallbackInfo& info);

}  // namespace portsnare

#endif  // PORTSNARE_PORT_PROBE_H_
