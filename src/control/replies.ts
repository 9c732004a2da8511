/**
 * @module control/replies
 * A reply line from the daemon to what the CLI may use: the envelope opened (a result, or the
 * daemon's error thrown with its code), and each command's result checked against its type in
 * control/protocol. Anything of the wrong shape is ErrorCodes.PROTOCOL, naming the field.
 */
import { ErrorCodes, PortsnareError, type ErrorCode } from '../errors.ts';
import { arrayOf, boolean, nullable, number, object, recordOf, string } from './json-shape.ts';
import type { BanView, ControlCommand, ControlResults, TrapView } from './protocol.ts';

function readBan(value: unknown, path: string): BanView {
  const o = object(value, path);
  return {
    address: string(o.address, `${path}.address`),
    since: string(o.since, `${path}.since`),
    expires: nullable(string)(o.expires, `${path}.expires`),
    ports: arrayOf(number)(o.ports, `${path}.ports`),
    scanType: string(o.scanType, `${path}.scanType`),
    mode: string(o.mode, `${path}.mode`),
    backends: arrayOf(string)(o.backends, `${path}.backends`),
  };
}

function readTrap(value: unknown, path: string): TrapView {
  const o = object(value, path);
  const trap: TrapView = {
    mode: string(o.mode, `${path}.mode`),
    ports: nullable(arrayOf(number))(o.ports, `${path}.ports`),
  };
  if (o.below !== undefined) trap.below = number(o.below, `${path}.below`);
  if (o.exclude !== undefined) trap.exclude = arrayOf(number)(o.exclude, `${path}.exclude`);
  return trap;
}

const readBans = arrayOf(readBan);

const RESULT_READERS: { [C in ControlCommand]: (value: unknown, path: string) => ControlResults[C] } = {
  status(value, path) {
    const o = object(value, path);
    return {
      running: boolean(o.running, `${path}.running`),
      pid: nullable(number)(o.pid, `${path}.pid`),
      startedAt: nullable(string)(o.startedAt, `${path}.startedAt`),
      version: string(o.version, `${path}.version`),
      modes: arrayOf(string)(o.modes, `${path}.modes`),
      backend: string(o.backend, `${path}.backend`),
      blockTime: number(o.blockTime, `${path}.blockTime`),
      traps: arrayOf(readTrap)(o.traps, `${path}.traps`),
      counters: recordOf(number)(o.counters, `${path}.counters`),
      stateDir: string(o.stateDir, `${path}.stateDir`),
      bans: readBans(o.bans, `${path}.bans`),
    };
  },
  list: readBans,
  block(value, path) {
    const o = object(value, path);
    return { ban: readBan(o.ban, `${path}.ban`), already: boolean(o.already, `${path}.already`) };
  },
  unblock(value, path) {
    const o = object(value, path);
    return { lifted: readBans(o.lifted, `${path}.lifted`), found: boolean(o.found, `${path}.found`) };
  },
  flush(value, path) {
    return { lifted: number(object(value, path).lifted, `${path}.lifted`) };
  },
};

/**
 * The result of a `command` reply, checked against its type: a reply of the wrong shape throws a
 * PortsnareError with ErrorCodes.PROTOCOL naming the field.
 */
export function parseReply<C extends ControlCommand>(command: C, result: unknown): ControlResults[C] {
  return RESULT_READERS[command](result, 'result');
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.values<string>(ErrorCodes).includes(code);
}

/**
 * A reply line's envelope: the result of a success, or the daemon's error (its code kept when it is
 * one of ours, else COMMAND_FAILED) thrown. Not JSON, or not an envelope: PROTOCOL.
 */
export function openEnvelope(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PortsnareError(ErrorCodes.COMMAND_FAILED, 'the daemon sent an unreadable reply');
  }
  const o = object(value, 'reply');
  if (boolean(o.ok, 'reply.ok')) return o.result;
  const code = string(o.code, 'reply.code');
  throw new PortsnareError(
    isErrorCode(code) ? code : ErrorCodes.COMMAND_FAILED,
    string(o.error, 'reply.error'),
  );
}
