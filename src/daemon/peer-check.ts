/**
 * @module daemon/peer-check
 * The control socket's check of who is at the other end, from the credentials the kernel recorded
 * when the connection was made (SO_PEERCRED, through the native addon): the client trusts only a
 * daemon running as root or as itself, and the daemon answers only root or its own user. The socket
 * file's owner and mode (checked too) say who could bind it; this says who did.
 */
import type { Socket } from 'node:net';
import type { PeerCheck } from '../control/client.ts';
import { loadNative } from '../native.ts';

/** The fd of a connected net.Socket (a libuv pipe handle), or null. */
function socketFd(socket: Socket): number | null {
  const handle: unknown = Reflect.get(socket, '_handle');
  if (typeof handle !== 'object' || handle === null) return null;
  const fd: unknown = Reflect.get(handle, 'fd');
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * A PeerCheck accepting only root and this process's user; null (no check beyond the file's owner)
 * when the native addon is not built.
 */
export function rootPeerCheck(): PeerCheck | null {
  let native;
  try {
    native = loadNative();
  } catch {
    return null;
  }
  const me = typeof process.geteuid === 'function' ? process.geteuid() : 0;
  return (socket) => {
    const fd = socketFd(socket);
    const cred = fd === null ? null : native.peerCredentials(fd);
    if (cred === null) return 'the credentials of the process at the other end cannot be read';
    if (cred.uid === 0 || cred.uid === me) return null;
    return `the process at the other end (pid ${cred.pid}) runs as uid ${cred.uid}, not root`;
  };
}
