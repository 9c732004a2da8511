// Proves the namespace lab (test/helpers/netns.ts): connectivity on IPv4 and IPv6, nmap from the
// scanner, process cleanup, and that namespaces are deleted on destroy(), on a throwing test body
// and on process.exit() (via the lab-then-crash fixture). Needs root.
//
// The pattern other lab tests should copy: create the lab, register `t.after(() => lab.destroy())`
// (or use try/finally) immediately, before anything else can throw.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { createLab, listNamespaces, waitFor, type Lab } from './netns.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/processes/lab-then-crash.ts', import.meta.url));

function assertGone(namespaces: string[]): void {
  const left = listNamespaces();
  assert.deepEqual(
    namespaces.filter((ns) => left.has(ns)),
    [],
    'lab namespaces still listed by ip netns list',
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

void test('lab: sensor reachable on v4/v6, nmap runs, destroy() kills processes and deletes namespaces', async (t) => {
  const lab = await createLab({ extraHosts: 1 });
  t.after(() => lab.destroy()); // safety net; destroy() is idempotent

  assert.equal(lab.namespaces.length, 4); // bridge + sensor + scanner + 1 extra
  assert.equal(lab.others.length, 1);
  const all = listNamespaces();
  for (const ns of lab.namespaces) assert.ok(all.has(ns), `${ns} exists`);

  // ICMP echo both ways on both families (lab.ping: iputils ping is not installed here).
  const other = lab.others[0]!;
  assert.equal(await lab.ping(lab.scanner, lab.sensor.ipv4), true);
  assert.equal(await lab.ping(lab.scanner, lab.sensor.ipv6), true);
  assert.equal(await lab.ping(other, lab.sensor.ipv6), true);
  assert.equal(await lab.ping(lab.sensor, other.ipv4), true);
  assert.equal(await lab.ping(lab.sensor, lab.scanner.ipv6), true);
  assert.equal(await lab.ping(lab.scanner, lab.subnet.ipv4.replace(/\.0\/24$/, '.250')), false); // nobody there

  const nmap = await lab.exec(lab.scanner, ['nmap', '-n', '-sT', '-Pn', '-p', '1-5', lab.sensor.ipv4], {
    timeoutMs: 60_000,
  });
  assert.equal(nmap.code, 0);
  assert.match(nmap.stdout, new RegExp(`Nmap scan report for ${lab.sensor.ipv4.replaceAll('.', '\\.')}`));

  // exec: argv only (no shell), stdin input, exit codes.
  const echo = await lab.exec(lab.sensor, ['cat'], { input: 'hello $HOME' });
  assert.equal(echo.stdout, 'hello $HOME');
  const fail = await lab.exec(lab.sensor, ['sh', '-c', 'exit 7'], { allowFail: true });
  assert.equal(fail.code, 7);
  await assert.rejects(lab.exec(lab.sensor, ['false']), /exit 1/);
  await assert.rejects(lab.exec(lab.sensor, ['sleep', '10'], { timeoutMs: 200 }), /timed out after 200 ms/);

  // A long-running process in the sensor namespace: one that ignores SIGTERM, so destroy() must escalate.
  const proc = lab.spawn(lab.sensor, ['sh', '-c', 'trap "" TERM; ip -o addr show dev eth0; exec sleep 300']);
  await waitFor(() => proc.stdout().includes(lab.sensor.ipv4), {
    timeoutMs: 5000,
    what: 'spawned process output',
  });
  assert.ok(alive(proc.pid));

  const started = Date.now();
  await lab.destroy();
  const result = await proc.exited;
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(Date.now() - started >= 2900, 'SIGKILL only after the 3 s grace period');
  assert.equal(alive(proc.pid), false);
  assertGone(lab.namespaces);

  await lab.destroy(); // idempotent, does not throw once everything is gone
});

void test('lab: a throwing test body still deletes the namespaces (try/finally pattern)', async () => {
  let namespaces: string[] = [];
  await assert.rejects(async () => {
    const lab: Lab = await createLab();
    try {
      namespaces = lab.namespaces;
      lab.spawn(lab.sensor, ['sleep', '300']);
      throw new Error('boom inside the test body');
    } finally {
      await lab.destroy();
    }
  }, /boom inside the test body/);
  assert.equal(namespaces.length, 3);
  assertGone(namespaces);
});

for (const mode of ['exit', 'sigterm'] as const) {
  void test(`lab: namespaces and processes are cleaned up when the process ends by ${mode}`, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    let info: { namespaces: string[]; pid: number } | undefined;
    try {
      const line = await waitFor(() => stdout.split('\n').find((l) => l.startsWith('{')), {
        timeoutMs: 30_000,
        what: 'fixture output',
      }).catch((err: Error) => {
        throw new Error(`${err.message}\nfixture stderr:\n${stderr}`);
      });
      info = JSON.parse(line) as { namespaces: string[]; pid: number };
      if (mode === 'sigterm') {
        const all = listNamespaces();
        for (const ns of info.namespaces) assert.ok(all.has(ns), `${ns} exists while the fixture runs`);
        process.kill(child.pid!, 'SIGTERM');
      }
      const result = await exited;
      if (mode === 'exit') assert.deepEqual(result, { code: 3, signal: null }, stderr);
      else assert.deepEqual(result, { code: null, signal: 'SIGTERM' }, stderr);
      assert.equal(info.namespaces.length, 3);
      assertGone(info.namespaces);
      const { pid } = info;
      await waitFor(() => !alive(pid), { timeoutMs: 2000, what: `pid ${pid} to die` });
    } finally {
      // If the hook under test failed, clean up after it so the failure leaves nothing behind.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (info) {
        if (alive(info.pid)) process.kill(info.pid, 'SIGKILL');
        const left = listNamespaces();
        for (const ns of info.namespaces) if (left.has(ns)) spawnSync('ip', ['netns', 'del', ns]);
      }
    }
  });
}
