/**
 * @module daemon/service
 * One part of the running daemon's lifecycle. The daemon starts its services in order and stops
 * them in reverse; `stop` must be safe after a start that failed part way. `reload` (SIGHUP) runs
 * in start order once the new settings are in the stack.
 */

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  reload?(): Promise<void>;
}
