// The one place that loads portsnare's native addon (native/build/Release/portsnare_native.node)
// and the typed boundary around it: nothing outside this file sees an untyped addon value.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { ErrorCodes, PortsnareError } from '../errors.ts';

/**
 * Called from the event loop for each connection accepted on a trap: `(connFd, peerAddress, peerPort)`,
 * or `(-1, '', 0, errnoName)` when accept4() failed. The callee owns `connFd` and must hand it to
 * `finishConnection` exactly once.
 */
export type NativeConnectionCallback = (
  connFd: number,
  peerAddress: string,
  peerPort: number,
  errorCode?: string,
) => void;

/** A listening socket on 0.0.0.0 or [::] (IPV6_V6ONLY), polled on the event loop until closed. */
export interface NativeTcpTrap {
  /** The listening fd, or -1 once closed. */
  readonly fd: number;
  /** The bound port, as read back with getsockname (so a requested 0 reports the real one). */
  readonly port: number;
  /** Stops polling and closes the listening socket; idempotent. */
  close(): void;
}

export interface NativeTcpTrapConstructor {
  /** Throws a {@link NativeSystemError} if socket/setsockopt/bind/listen fails. */
  new (family: 4 | 6, port: number, backlog: number, onConnection: NativeConnectionCallback): NativeTcpTrap;
}

export interface NativeModule {
  TcpTrap: NativeTcpTrapConstructor;
  /** Sends `banner` (if non-empty, one nonblocking best-effort send), then closes `connFd`. */
  finishConnection(connFd: number, banner: Buffer | null): void;
}

/** The addon's errors look like Node's system errors: errno is negative, as in Node. */
export interface NativeSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isNativeSystemError(err: unknown): err is NativeSystemError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeSystemError>).code === 'string' &&
    typeof (err as Partial<NativeSystemError>).syscall === 'string'
  );
}

// Resolved from this module, which sits at src/sensors/ (tsx) or dist/sensors/ (compiled): both are
// two levels below the package root.
const ADDON_PATH = fileURLToPath(
  new URL('../../native/build/Release/portsnare_native.node', import.meta.url),
);

let loaded: NativeModule | undefined;

/** Loads the addon once; throws a PortsnareError with code PSN_NATIVE_MISSING if it has not been built. */
export function loadNative(): NativeModule {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    throw new PortsnareError(
      ErrorCodes.NATIVE_MISSING,
      `portsnare native addon not found at ${ADDON_PATH}; build it with \`npm ci\` ` +
        '(or `npm run install` in an existing checkout)',
    );
  }
  const require = createRequire(import.meta.url);
  loaded = require(ADDON_PATH) as NativeModule;
  return loaded;
}
