/**
 * @module control/server
 * The daemon's control socket: a unix stream socket in STATE_DIR that only root can use. It is
 * created with umask 0177 (so it is 0600 from its first moment) inside the 0700 state directory and
 * owned by the daemon's user (root). A stale socket left by a killed daemon is replaced; a live one
 * (another daemon answering) is an error. One request per connection, one reply, then close.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import { ErrorCodes, PortsnareError, describeError, systemErrorCode } from '../errors.ts';
import { MAX_REQUEST_BYTES, parseRequest, type ControlReply, type ControlRequest } from './protocol.ts';

export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

/** Is something answering on this socket path? */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class ControlServer {
  readonly path: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(path: string, server: Server) {
    this.path = path;
    this.#server = server;
  }

  /** `onError`: the listening socket failed after it was open (say, out of file descriptors). */
  static async listen(
    path: string,
    handle: ControlHandler,
    onError: (err: Error) => void = () => undefined,
  ): Promise<ControlServer> {
    if (await answering(path)) {
      throw new PortsnareError(ErrorCodes.ALREADY_RUNNING, `another portsnare answers on ${path}`);
    }
    await unlink(path).catch((err: unknown) => {
      if (systemErrorCode(err) !== 'ENOENT') throw err;
    });
    const server = createServer({ allowHalfOpen: true });
    const control = new ControlServer(path, server);
    server.on('connection', (socket) => control.#serve(socket, handle));
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previous);
    }
    server.on('error', onError);
    await chmod(path, 0o600);
    server.unref();
    return control;
  }

  #serve(socket: Socket, handle: ControlHandler): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    let buffered = '';
    let answered = false;
    const reply = (message: ControlReply) => {
      if (answered) return;
      answered = true;
      socket.end(`${JSON.stringify(message)}\n`);
    };
    const onRequest = (line: string) => {
      let request: ControlRequest;
      try {
        request = parseRequest(line);
      } catch (err) {
        reply({ ok: false, code: ErrorCodes.USAGE, error: describeError(err) });
        return;
      }
      handle(request).then(
        (result) => reply({ ok: true, result }),
        (err: unknown) =>
          reply({
            ok: false,
            code: err instanceof PortsnareError ? err.code : ErrorCodes.COMMAND_FAILED,
            error: describeError(err),
          }),
      );
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (answered) return;
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline >= 0) onRequest(buffered.slice(0, newline));
      else if (buffered.length > MAX_REQUEST_BYTES) {
        reply({ ok: false, code: ErrorCodes.USAGE, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
      }
    });
    socket.on('end', () => {
      if (!answered && buffered.length > 0) onRequest(buffered);
      else if (!answered) reply({ ok: false, code: ErrorCodes.USAGE, error: 'empty request' });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await unlink(this.path).catch(() => undefined);
  }
}
