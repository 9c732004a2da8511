/**
 * @module report/history-repair
 * The history lines a crash kept from being written: a ban's line is written after its response and
 * before the ban is settled in the store, so only a ban still pending at the next start can lack
 * it. Which of those have their line is read from the history file's tail (a line of the address
 * from around the ban's start); the missing ones are written in 1.2's format (report/history), with
 * the ban's start as the time and its address as the host, so that fail2ban still sees every ban
 * and never one line twice.
 */
import { open } from 'node:fs/promises';
import { protocolOf, type Mode } from '../detect/probe.ts';
import { systemErrorCode } from '../errors.ts';
import { addressOfHistoryLine, formatHistoryLine } from './history.ts';

/** What of a stored ban its history line is made from (state/ban's Ban has these fields). */
export interface StoredBan {
  address: string;
  /** ms since the epoch. */
  since: number;
  ports: readonly number[];
  mode: string;
  origin: string;
}

/**
 * A line of the address counts as the ban's if its time is at most this much before the ban's
 * start: the line's time is the probe's, which precedes the ban by the name lookup (RESOLVE_HOST,
 * at most 1.5 s) and the wait for a busy event loop.
 */
export const LINE_BEFORE_BAN_S = 30;
/** ...and at most this much after it (a clock step). */
export const LINE_AFTER_BAN_S = 5;

const DETECTION_MODES: readonly string[] = ['tcp', 'udp', 'stcp', 'sudp', 'atcp', 'audp'];
const CHUNK = 1 << 20;

/** Whether the ban is one that has a history line at all (a detection, not `portsnare block`). */
export function hasHistoryLine(ban: StoredBan): boolean {
  return ban.origin === 'detection' && DETECTION_MODES.includes(ban.mode);
}

/** The history line written for a ban whose own line a crash lost. */
export function repairedHistoryLine(ban: StoredBan): string {
  return formatHistoryLine({
    time: new Date(ban.since),
    host: ban.address,
    address: ban.address,
    // The ports are in the order they were hit: the last one fired the trigger.
    port: ban.ports[ban.ports.length - 1] ?? 0,
    protocol: protocolOf(ban.mode as Mode),
  });
}

/**
 * The epochs (s) of the history lines of each address, reading the file from its end back to the
 * first line older than `fromEpoch` (lines are appended in time order). A missing file has none.
 */
export async function recentHistory(path: string, fromEpoch: number): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return found;
    throw err;
  }
  try {
    let end = (await handle.stat()).size;
    let carry = '';
    while (end > 0) {
      const start = Math.max(0, end - CHUNK);
      const buf = Buffer.alloc(end - start);
      await handle.read(buf, 0, buf.length, start);
      const text = buf.toString('latin1') + carry;
      const lines = text.split('\n');
      // The first piece may be the end of a line the previous chunk holds the start of.
      carry = start > 0 ? (lines.shift() ?? '') : '';
      let older = false;
      for (const line of lines) {
        const address = addressOfHistoryLine(line);
        if (address === null) continue;
        const epoch = Number(line.slice(0, line.indexOf(' ')));
        if (epoch < fromEpoch) older = true;
        const list = found.get(address);
        if (list) list.push(epoch);
        else found.set(address, [epoch]);
      }
      if (older) break;
      end = start;
    }
  } finally {
    await handle.close();
  }
  return found;
}

/** The bans among `bans` that have a history line but none in the file. */
export async function bansWithoutHistoryLine<B extends StoredBan>(
  path: string,
  bans: readonly B[],
): Promise<B[]> {
  const candidates = bans.filter(hasHistoryLine);
  if (candidates.length === 0) return [];
  let earliest = Infinity;
  for (const ban of candidates) earliest = Math.min(earliest, Math.floor(ban.since / 1000));
  const history = await recentHistory(path, earliest - LINE_BEFORE_BAN_S);
  return candidates.filter((ban) => {
    const at = Math.floor(ban.since / 1000);
    const epochs = history.get(ban.address) ?? [];
    return !epochs.some((e) => e >= at - LINE_BEFORE_BAN_S && e <= at + LINE_AFTER_BAN_S);
  });
}
