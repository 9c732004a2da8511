// Runs the real, built portsnare daemon inside a lab namespace for end-to-end tests: writes a
// portsentry.conf whose every path points into a scratch directory (history, blocked files,
// hosts.deny, state, syslog socket), starts `bin/portsnare` with it, and waits for the
// "now active" line on the test's own syslog sink. Also small probes run from lab hosts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost, LabProcess } from './netns.ts';
import { createSyslogSink, type SyslogSink } from './syslog-sink.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PORTSNARE_BIN = join(REPO_ROOT, 'bin', 'portsnare');

export interface DaemonFiles {
  dir: string;
  config: string;
  ignore: string;
  history: string;
  blocked: string;
  hostsDeny: string;
  stateDir: string;
  syslogSocket: string;
}

export interface RunningDaemon {
  files: DaemonFiles;
  sink: SyslogSink;
  process: LabProcess;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  cleanup(): Promise<void>;
}

export async function prepareFiles(
  conf: Record<string, string>,
  ignoreLines: string[] = [],
): Promise<DaemonFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-e2e-'));
  const files: DaemonFiles = {
    dir,
    config: join(dir, 'portsentry.conf'),
    ignore: join(dir, 'portsentry.ignore'),
    history: join(dir, 'portsentry.history'),
    blocked: join(dir, 'portsentry.blocked'),
    hostsDeny: join(dir, 'hosts.deny'),
    stateDir: join(dir, 'state'),
    syslogSocket: join(dir, 'log.sock'),
  };
  const all: Record<string, string> = {
    IGNORE_FILE: files.ignore,
    HISTORY_FILE: files.history,
    BLOCKED_FILE: files.blocked,
    HOSTS_DENY_FILE: files.hostsDeny,
    STATE_DIR: files.stateDir,
    SYSLOG_SOCKET: files.syslogSocket,
    // The e2e tests of parts 1 and 2 assert 1.2's KILL_* lines; tests of nft say so.
    BLOCK_BACKEND: 'classic',
    ...conf,
  };
  await writeFile(
    files.config,
    Object.entries(all)
      .map(([k, v]) => `${k}="${v}"\n`)
      .join(''),
  );
  await writeFile(files.ignore, ignoreLines.map((l) => `${l}\n`).join(''));
  return files;
}

/** Starts `portsnare <args> --config <files.config> --foreground` in the sensor namespace. */
export async function startDaemon(
  lab: Lab,
  files: DaemonFiles,
  args: string[],
  opts: { startupTimeoutMs?: number } = {},
): Promise<RunningDaemon> {
  assert.ok(
    existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')),
    'portsnare is not built: run `npm run build` first',
  );
  const sink = await createSyslogSink(files.syslogSocket);
  const proc = lab.spawn(lab.sensor, [
    process.execPath,
    PORTSNARE_BIN,
    ...args,
    '--config',
    files.config,
    '--foreground',
  ]);
  const running: RunningDaemon = {
    files,
    sink,
    process: proc,
    async stop() {
      proc.kill('SIGTERM');
      return proc.exited;
    },
    async cleanup() {
      proc.kill('SIGKILL');
      await sink.close();
      await rm(files.dir, { recursive: true, force: true });
    },
  };
  // A daemon that does not come up is killed and its sink closed here: the caller never got it, so
  // its own cleanup cannot (a leaked process or socket keeps the test file from ever ending).
  try {
    const started = await Promise.race([
      sink
        .waitForMessage('adminalert: PortSentry is now active and listening.', {
          timeoutMs: opts.startupTimeoutMs ?? 15_000,
        })
        .then(() => true),
      proc.exited.then(() => false),
    ]);
    assert.ok(started, `the daemon exited during startup:\n${proc.stderr()}`);
  } catch (err) {
    proc.kill('SIGKILL');
    await proc.exited;
    await sink.close();
    throw err;
  }
  return running;
}

/**
 * Tries a TCP connection from `host` and says what happened: 'connected' (with what the server sent
 * within a moment), 'refused', or 'timeout' (a drop rule or blackhole in the way).
 */
export async function tcpProbe(
  lab: Lab,
  host: LabHost,
  address: string,
  port: number,
  timeoutMs = 1500,
): Promise<{ result: 'connected' | 'refused' | 'timeout' | 'error'; data: string }> {
  const script = `
    const net = require('node:net');
    const [address, port, timeout] = process.argv.slice(1);
    let data = '';
    const s = net.connect({ host: address, port: Number(port) });
    const done = (result) => { process.stdout.write(JSON.stringify({ result, data })); process.exit(0); };
    s.setTimeout(Number(timeout), () => done('timeout'));
    s.on('connect', () => setTimeout(() => done('connected'), 300));
    s.on('data', (d) => (data += d));
    s.on('end', () => done('connected'));
    s.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ECONNRESET' ? 'connected' : 'error'));
  `;
  const out = await lab.exec(
    host,
    [process.execPath, '-e', script, address, String(port), String(timeoutMs)],
    {
      timeoutMs: timeoutMs + 5000,
    },
  );
  return JSON.parse(out.stdout) as { result: 'connected' | 'refused' | 'timeout' | 'error'; data: string };
}

/** A small TCP service in the sensor namespace: answers "hello\n" on each port given. */
export function startService(lab: Lab, ports: number[], family: 4 | 6 = 4): LabProcess {
  const script = `
    const net = require('node:net');
    for (const port of process.argv.slice(1).map(Number)) {
      net.createServer((s) => { s.on('error', () => {}); s.end('hello\\n'); }).listen({ port, host: '${family === 4 ? '0.0.0.0' : '::'}' });
    }
    process.stdout.write('ready\\n');
  `;
  return lab.spawn(lab.sensor, [process.execPath, '-e', script, ...ports.map(String)]);
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

/** Runs `portsnare <args> --config <files.config>` in the sensor namespace (status, block, unblock...). */
export function portsnareCli(lab: Lab, files: DaemonFiles, args: string[]) {
  return lab.exec(lab.sensor, [process.execPath, PORTSNARE_BIN, ...args, '--config', files.config], {
    allowFail: true,
    timeoutMs: 60_000,
  });
}

/** Sends SIGUSR1 to the daemon (by pid) and parses its "adminalert: Counters: k=v ..." line. */
export async function readCounters(daemon: RunningDaemon): Promise<Record<string, number>> {
  const prefix = 'adminalert: Counters: ';
  const before = daemon.sink.messages().filter((m) => m.startsWith(prefix)).length;
  // Asked up to three times: right after a flood the syslog queue is full, and a line that finds it
  // full is dropped (and counted), as it should be; a loaded CI machine once lost the first answer.
  let records: Awaited<ReturnType<typeof daemon.sink.waitForMessage>> = [];
  for (let attempt = 1; records.length === 0; attempt++) {
    process.kill(daemon.process.pid, 'SIGUSR1');
    try {
      records = await daemon.sink.waitForMessage(prefix, { count: before + 1, timeoutMs: 5000 });
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
  const counters: Record<string, number> = {};
  for (const pair of records[records.length - 1]!.message.slice(prefix.length).split(' ')) {
    const eq = pair.indexOf('=');
    if (eq > 0) counters[pair.slice(0, eq)] = Number(pair.slice(eq + 1));
  }
  return counters;
}

/** The addresses in one of portsnare's nft sets in the sensor namespace ([] if the table is gone). */
export async function nftSetElements(lab: Lab, set: 'blocked4' | 'blocked6'): Promise<string[]> {
  const r = await lab.exec(lab.sensor, ['nft', '-j', 'list', 'set', 'inet', 'portsnare', set], {
    allowFail: true,
  });
  if (r.code !== 0) return [];
  const parsed = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const elems = parsed.nftables.find((o) => o.set)?.set?.elem ?? [];
  return elems.map((e) => (typeof e === 'string' ? e : String((e as { elem: { val: string } }).elem.val)));
}
