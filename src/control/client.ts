/**
 * @module control/client
 * Sends one request to the daemon's control socket and returns its reply. Tells apart "no daemon"
 * (no socket, or a stale one nobody answers: the caller may act on the store itself) from "not
 * allowed" (the socket is root's) and from a daemon that answered with an error. `ask` also checks
 * the result against the command's reply type. Before connecting it checks what it connects to: a
 * socket owned by root (or by this user), never something another user planted in a loose
 * STATE_DIR to answer root's `portsnare block` with a fake success.
 */
import { lstat } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { ErrorCodes, PortsnareError, asError, systemErrorCode } from '../errors.ts';
import type { ControlRequest, ControlResults } from './protocol.ts';
import { openEnvelope, parseReply } from './replies.ts';

export class NoDaemonError extends PortsnareError {
  constructor(path: string, reason: string) {
    super(ErrorCodes.NOT_RUNNING, `no portsnare daemon answers on ${path} (${reason})`);
    this.name = 'NoDaemonError';
  }
}

const REPLY_LIMIT = 512 * 1024 * 1024;

/**
 * Asked once the connection is made, before anything is sent: why the process at the other end is
 * not to be trusted (its kernel-recorded credentials, see daemon/peer-check), or null.
 */
export type PeerCheck = (socket: Socket) => string | null;

export interface RequestOptions {
  timeoutMs?: number;
  verifyPeer?: PeerCheck | null;
}

/** The daemon's result for `request`, checked against the command's reply type (see parseReply). */
export async function ask<R extends ControlRequest>(
  path: string,
  request: R,
  opts: RequestOptions = {},
): Promise<ControlResults[R['command']]> {
  return parseReply<R['command']>(request.command, await sendRequest(path, request, opts));
}

/**
 * Throws unless `path` is a socket owned by root or by this process's user. A missing path is "no
 * daemon"; one this user may not look at is left to the connect, which says "permission denied".
 */
export async function checkSocketOwner(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    const code = systemErrorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NoDaemonError(path, code);
    return;
  }
  if (!st.isSocket()) {
    throw new PortsnareError(ErrorCodes.UNSAFE_PATH, `${path} is not a socket; not talking to it`);
  }
  const me = typeof process.geteuid === 'function' ? process.geteuid() : 0;
  if (st.uid !== 0 && st.uid !== me) {
    throw new PortsnareError(
      ErrorCodes.UNSAFE_PATH,
      `${path} is owned by uid ${st.uid}, not root: not trusting what answers on it`,
    );
  }
}

/** The daemon's result for `request`, unchecked; errors the daemon replied with are thrown. */
export async function sendRequest(
  path: string,
  request: ControlRequest,
  opts: RequestOptions = {},
): Promise<unknown> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await checkSocketOwner(path);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      fn();
    };
    socket.setTimeout(timeoutMs, () =>
      finish(() =>
        reject(
          new PortsnareError(
            ErrorCodes.COMMAND_FAILED,
            `the daemon did not answer within ${timeoutMs / 1000} s`,
          ),
        ),
      ),
    );
    socket.once('connect', () => {
      const distrust = opts.verifyPeer?.(socket) ?? null;
      if (distrust !== null) {
        finish(() =>
          reject(new PortsnareError(ErrorCodes.UNSAFE_PATH, `${path}: ${distrust}; not talking to it`)),
        );
        return;
      }
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > REPLY_LIMIT)
        finish(() => reject(new PortsnareError(ErrorCodes.PROTOCOL, 'reply too long')));
    });
    socket.once('error', (err) => {
      const code = systemErrorCode(err);
      finish(() => {
        if (code === 'ENOENT' || code === 'ECONNREFUSED') reject(new NoDaemonError(path, code));
        else if (code === 'EACCES' || code === 'EPERM') {
          reject(
            new PortsnareError(
              ErrorCodes.PERMISSION,
              `${path}: permission denied: only root can control portsnare`,
            ),
          );
        } else reject(err);
      });
    });
    socket.once('end', () =>
      finish(() => {
        try {
          resolve(openEnvelope(text));
        } catch (err) {
          reject(asError(err, ErrorCodes.PROTOCOL));
        }
      }),
    );
  });
}
