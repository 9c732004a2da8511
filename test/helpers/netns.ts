// Test lab built from Linux network namespaces (needs root).
//
// This module owns everything a lab creates: the namespaces (one per host plus one holding the
// bridge that joins them), the veth pairs and addresses inside them, and every process started
// in them through `exec`/`spawn`. Nothing is ever created in or sent from the host's own network
// namespace: veth pairs are created directly inside the lab namespaces, and all addresses come
// from a 10.X.Y.0/24 and a 2001:db8:XXYY::/64 chosen per lab.
//
// Cleanup: `destroy()` kills the lab's processes (by pid) and deletes its namespaces. It is
// idempotent and never throws. As a last resort a process 'exit' hook (and SIGINT/SIGTERM/SIGHUP
// handlers, installed while a lab is alive) does the same synchronously, so a crashing test does
// not leave namespaces behind. Tests should still destroy their labs explicitly:
//
//   const lab = await createLab({ extraHosts: 1 });
//   t.after(() => lab.destroy());          // or: try { ... } finally { await lab.destroy(); }

import { spawn as spawnChild, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

export interface LabHost {
  name: string;
  ns: string;
  ipv4: string;
  ipv6: string;
  ifname: string;
}

export interface LabProcess {
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command (SIGKILL) and reject after this long. Default 30 s. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string;
  /** Resolve with a non-zero exit code instead of rejecting. Timeouts always reject. */
  allowFail?: boolean;
}

export interface SpawnOptions {
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Lab {
  sensor: LabHost;
  scanner: LabHost;
  others: LabHost[];
  /** Every namespace of this lab, the bridge namespace included. */
  namespaces: string[];
  /** The lab's subnets in CIDR notation, e.g. 10.70.3.0/24 and 2001:db8:4603::/64. */
  subnet: { ipv4: string; ipv6: string };
  exec(host: LabHost, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  spawn(host: LabHost, argv: string[], opts?: SpawnOptions): LabProcess;
  /**
   * Sends one ICMP / ICMPv6 echo request from `host` to `address` and tells whether the reply came.
   * iputils `ping` is not installed on the project's machines, so this uses nmap's echo probe.
   */
  ping(host: LabHost, address: string): Promise<boolean>;
  destroy(): Promise<void>;
}

export interface CreateLabOptions {
  /** Hosts besides sensor and scanner, named host1, host2, ... (at most 200). Default 0. */
  extraHosts?: number;
  /** Third octet of the lab's 10.X.Y.0/24 (0-255). Default: derived from a per-process random value. */
  subnetIndex?: number;
}

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';
const IFNAME = 'eth0';
const TERM_GRACE_MS = 3000;
const KILL_WAIT_MS = 2000;

/** A name unique to this process and run: `<prefix>-<pid>-<6 hex chars>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * Polls `fn` until it returns a truthy value and returns that value. A throwing `fn` counts as
 * "not yet"; its last error is attached as the cause of the timeout error.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${detail}`, {
        cause: lastError,
      });
    }
    await delay(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
}

// ---------------------------------------------------------------------------------------------
// Registry of live labs, for the last-resort synchronous cleanup.

interface LabState {
  namespaces: string[]; // in creation order; the bridge namespace first
  children: Set<ChildProcess>;
}

const liveLabs = new Set<LabState>();
const HANDLED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooksInstalled = false;

function running(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function nsPidsSync(ns: string): number[] {
  const r = spawnSync(IP, ['netns', 'pids', ns], { encoding: 'utf8' });
  return r.status === 0 ? parsePids(r.stdout) : [];
}

function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((s) => Number.parseInt(s.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
}

function cleanupSync(state: LabState): void {
  for (const child of state.children) if (running(child) && child.pid) killPid(child.pid, 'SIGKILL');
  for (const ns of state.namespaces) for (const pid of nsPidsSync(ns)) killPid(pid, 'SIGKILL');
  for (const ns of [...state.namespaces].reverse()) spawnSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
  liveLabs.delete(state);
}

function onExit(): void {
  for (const state of [...liveLabs]) cleanupSync(state);
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  uninstallHooks();
  // Keep the default behaviour (die by the signal) unless someone else also handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  for (const s of HANDLED_SIGNALS) process.on(s, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.removeListener('exit', onExit);
  for (const s of HANDLED_SIGNALS) process.removeListener(s, onSignal);
}

// ---------------------------------------------------------------------------------------------
// Running commands in namespaces.

function signalExitCode(signal: NodeJS.Signals | null): number {
  return signal ? 128 + (osConstants.signals[signal] ?? 0) : -1;
}

/** Resolves once the child has exited and (briefly) its stdio has drained. */
function whenExited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    let closed = false;
    child.once('close', () => {
      closed = true;
    });
    child.once('error', () => resolve({ code: null, signal: null }));
    child.once('exit', (code, signal) => {
      if (closed) return resolve({ code, signal });
      const timer = setTimeout(() => resolve({ code, signal }), 500);
      child.once('close', () => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
  });
}

function nsExec(state: LabState, ns: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0) return Promise.reject(new Error('exec: empty argv'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const cmd = `[${ns}] ${argv.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawnChild(IP, ['netns', 'exec', ns, ...argv], {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    state.children.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE if the command does not read its input
      child.stdin.end(opts.input);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killPid(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      state.children.delete(child);
      reject(new Error(`exec ${cmd}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      state.children.delete(child);
      const result = { code: code ?? signalExitCode(signal), stdout, stderr };
      if (timedOut) return reject(new Error(`exec ${cmd}: timed out after ${timeoutMs} ms\n${stderr}`));
      if (result.code !== 0 && !opts.allowFail) {
        return reject(new Error(`exec ${cmd}: exit ${result.code}\n${stderr || stdout}`.trimEnd()));
      }
      resolve(result);
    });
  });
}

function nsSpawn(state: LabState, ns: string, argv: string[], opts: SpawnOptions = {}): LabProcess {
  if (argv.length === 0) throw new Error('spawn: empty argv');
  const child = spawnChild(IP, ['netns', 'exec', ns, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
  });
  const { pid } = child;
  if (pid === undefined) {
    child.on('error', () => {}); // the failure is reported by the throw below
    throw new Error(`spawn [${ns}] ${argv.join(' ')}: could not start ${IP}`);
  }
  state.children.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.on('error', (e) => (err += `\n[spawn error] ${e.message}\n`));
  const exited = whenExited(child).then((r) => {
    state.children.delete(child);
    return r;
  });
  return {
    pid,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (running(child)) killPid(pid, signal);
    },
  };
}

/** One ICMP(v6) echo request via nmap (no ARP/ND ping, so a reply proves the echo round trip). */
async function nsPing(state: LabState, ns: string, address: string): Promise<boolean> {
  const family = address.includes(':') ? ['-6'] : [];
  const argv = [
    'nmap',
    ...family,
    '-n',
    '-sn',
    '-PE',
    '--disable-arp-ping',
    '--reason',
    '--max-retries',
    '0',
  ];
  const r = await nsExec(state, ns, [...argv, '--host-timeout', '2s', address], {
    allowFail: true,
    timeoutMs: 10_000,
  });
  return r.code === 0 && /Host is up, received (echo-reply|localhost-response)/.test(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// Building and tearing down the lab.

let processSubnetBase: number | undefined;
let labCounter = 0;

function pickSubnet(subnetIndex: number | undefined): { x: number; y: number } {
  if (subnetIndex !== undefined && (!Number.isInteger(subnetIndex) || subnetIndex < 0 || subnetIndex > 255)) {
    throw new RangeError(`subnetIndex must be an integer 0-255, got ${subnetIndex}`);
  }
  processSubnetBase ??= randomBytes(1)[0] ?? 0;
  const x = 64 + (process.pid % 128); // 10.64.0.0 - 10.191.255.255
  const y = subnetIndex ?? (processSubnetBase + labCounter++) % 256;
  return { x, y };
}

async function ipCmd(args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawnChild(IP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ip ${args.join(' ')}: exit ${code}: ${stderr.trim()}`)),
    );
  });
}

/** Names of all network namespaces currently listed by `ip netns list`. */
export function listNamespaces(): Set<string> {
  const r = spawnSync(IP, ['netns', 'list'], { encoding: 'utf8' });
  return new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter(Boolean),
  );
}

async function destroyState(state: LabState): Promise<void> {
  // 1. Our own children: SIGTERM, then SIGKILL after the grace period.
  const children = [...state.children].filter(running);
  for (const c of children) if (c.pid) killPid(c.pid, 'SIGTERM');
  const allExited = (cs: ChildProcess[]) => Promise.all(cs.filter(running).map(whenExited));
  await Promise.race([allExited(children), delay(TERM_GRACE_MS)]);
  const stubborn = children.filter(running);
  for (const c of stubborn) if (c.pid) killPid(c.pid, 'SIGKILL');
  await Promise.race([allExited(stubborn), delay(KILL_WAIT_MS)]);
  // 2. Anything else still inside the lab's namespaces (e.g. something a test daemonized).
  const existing = listNamespaces();
  const present = state.namespaces.filter((ns) => existing.has(ns));
  const strays = present.flatMap(nsPidsSync);
  for (const pid of strays) killPid(pid, 'SIGKILL');
  // 3. The namespaces, hosts first and the bridge last.
  for (const ns of [...present].reverse()) {
    await ipCmd(['netns', 'del', ns]).catch(() => {});
  }
  const left = listNamespaces();
  for (const ns of state.namespaces)
    if (left.has(ns)) spawnSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
  liveLabs.delete(state);
  if (liveLabs.size === 0) uninstallHooks();
}

export async function createLab(opts: CreateLabOptions = {}): Promise<Lab> {
  const extraHosts = opts.extraHosts ?? 0;
  if (!Number.isInteger(extraHosts) || extraHosts < 0 || extraHosts > 200) {
    throw new RangeError(`extraHosts must be an integer 0-200, got ${extraHosts}`);
  }
  if (process.getuid?.() !== 0) throw new Error('createLab needs root (network namespaces)');
  const { x, y } = pickSubnet(opts.subnetIndex);
  const v6net = `2001:db8:${((x << 8) | y).toString(16)}`;
  const base = uniqueName('psnlab');
  const bridgeNs = `${base}-br`;

  const names = ['sensor', 'scanner', ...Array.from({ length: extraHosts }, (_, i) => `host${i + 1}`)];
  // Last address part: sensor .10, scanner .20, host1 .30, host2 .31, ... (the same digits in IPv6).
  const hostPart = (i: number) => (i < 2 ? 10 * (i + 1) : 28 + i);
  const hosts: LabHost[] = names.map((name, i) => ({
    name,
    ns: `${base}-${name}`,
    ipv4: `10.${x}.${y}.${hostPart(i)}`,
    ipv6: `${v6net}::${hostPart(i)}`,
    ifname: IFNAME,
  }));

  const state: LabState = { namespaces: [], children: new Set() };
  liveLabs.add(state);
  installHooks();
  let destroying: Promise<void> | undefined;
  const destroy = () => (destroying ??= destroyState(state).catch(() => {}));

  try {
    for (const ns of [bridgeNs, ...hosts.map((h) => h.ns)]) {
      state.namespaces.push(ns); // before creation, so a half-created one is still cleaned up
      await ipCmd(['netns', 'add', ns]);
      await ipCmd(['-n', ns, 'link', 'set', 'lo', 'up']);
      // New interfaces in this namespace start without IPv6 duplicate address detection.
      await ipCmd([
        'netns',
        'exec',
        ns,
        'sysctl',
        '-q',
        '-w',
        'net.ipv6.conf.all.accept_dad=0',
        'net.ipv6.conf.default.accept_dad=0',
        'net.ipv6.conf.all.accept_ra=0',
        'net.ipv6.conf.default.accept_ra=0',
      ]);
    }
    await ipCmd([
      '-n',
      bridgeNs,
      'link',
      'add',
      'br0',
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
      'mcast_snooping',
      '0',
    ]);
    await ipCmd(['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    for (const [i, h] of hosts.entries()) {
      const port = `p${i}`;
      await ipCmd([
        '-n',
        bridgeNs,
        'link',
        'add',
        port,
        'type',
        'veth',
        'peer',
        'name',
        h.ifname,
        'netns',
        h.ns,
      ]);
      await ipCmd(['-n', bridgeNs, 'link', 'set', port, 'master', 'br0', 'up']);
      await ipCmd(['netns', 'exec', h.ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${h.ifname}.accept_dad=0`]);
      await ipCmd(['-n', h.ns, 'addr', 'add', `${h.ipv4}/24`, 'dev', h.ifname]);
      await ipCmd(['-n', h.ns, '-6', 'addr', 'add', `${h.ipv6}/64`, 'dev', h.ifname, 'nodad']);
      await ipCmd(['-n', h.ns, 'link', 'set', h.ifname, 'up']);
    }

    // Usable both ways on both families: every host reaches the sensor and vice versa.
    const [sensor, ...rest] = hosts as [LabHost, ...LabHost[]];
    const reachable = (from: LabHost, to: string) =>
      waitFor(() => nsPing(state, from.ns, to), {
        timeoutMs: 15_000,
        intervalMs: 100,
        what: `ICMP echo ${from.name} -> ${to}`,
      });
    await Promise.all(
      rest.flatMap((h) => [
        reachable(h, sensor.ipv4),
        reachable(h, sensor.ipv6),
        reachable(sensor, h.ipv4),
        reachable(sensor, h.ipv6),
      ]),
    );
  } catch (err) {
    await destroy();
    throw err;
  }

  const [sensor, scanner, ...others] = hosts as [LabHost, LabHost, ...LabHost[]];
  return {
    sensor,
    scanner,
    others,
    namespaces: [...state.namespaces],
    subnet: { ipv4: `10.${x}.${y}.0/24`, ipv6: `${v6net}::/64` },
    exec: (host, argv, o) => nsExec(state, host.ns, argv, o),
    spawn: (host, argv, o) => nsSpawn(state, host.ns, argv, o),
    ping: (host, address) => nsPing(state, host.ns, address),
    destroy,
  };
}
