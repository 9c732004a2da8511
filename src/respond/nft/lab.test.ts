// The nftables responder against the real nft inside the sensor namespace of a lab
// (test/helpers/netns.ts), as root: idempotent setup beside another table, IPv4/IPv6 bans that stop a
// scanner and nobody else, kernel-side expiry, unblock, the watchdog after `nft flush ruleset`, 10,000
// bans in one run, and a DNAT'd port that an INPUT-chain ban misses but the prerouting ban does not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tcpProbe } from '../../../test/helpers/daemon.ts';
import { createLab, waitFor, type Lab, type LabHost, type LabProcess } from '../../../test/helpers/netns.ts';
import { NftResponder } from './responder.ts';
import { NFT_TIMEOUT_MS, type NftRun } from './runner.ts';
import type { NftBan } from './script.ts';
import { watchTable } from './watchdog.ts';

// ---------------------------------------------------------------------------------------------
// Lab tests: the real nft in the sensor namespace (root).

const PORT = 8080;

/** A TCP service answering `text`, on every address of `host` (dual-stack `::`). */
async function serve(lab: Lab, host: LabHost, port: number, text: string): Promise<LabProcess> {
  const script = `require('node:net').createServer((s) => { s.on('error', () => {}); s.end(process.argv[2]); })
    .listen({ port: Number(process.argv[1]), host: '::' }, () => process.stdout.write('ready\\n'));`;
  const server = lab.spawn(host, [process.execPath, '-e', script, String(port), text]);
  await waitFor(() => server.stdout().includes('ready'), {
    timeoutMs: 5000,
    what: `service on ${host.name}`,
  });
  return server;
}

void test('lab: real nft in a namespace', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const lab = await createLab({ extraHosts: 2 });
  t.after(() => lab.destroy());
  const [other, backend] = lab.others as [LabHost, LabHost];
  const { sensor, scanner } = lab;
  let runs = 0;
  const run: NftRun = (argv, input) => {
    runs++;
    return lab.exec(sensor, argv, { input, allowFail: true, timeoutMs: NFT_TIMEOUT_MS });
  };
  const responder = new NftResponder({ run });
  const nftText = async (...args: string[]) => (await lab.exec(sensor, ['nft', ...args])).stdout;
  const reach = async (from: LabHost, address: string) =>
    (await tcpProbe(lab, from, address, PORT, 1000)).result;
  const fresh = async () => {
    await responder.flush();
    await responder.ensureTable();
  };
  await serve(lab, sensor, PORT, 'hello\n');

  await t.test('ensureTable is idempotent and leaves other tables alone, so does flush', async () => {
    await lab.exec(sensor, ['nft', '-f', '-'], {
      input:
        'table inet other {\n  chain input { type filter hook input priority 0; policy accept; tcp dport 7 counter; }\n}\n',
    });
    const otherBefore = await nftText('list', 'table', 'inet', 'other');
    assert.equal(await responder.isInstalled(), false);
    await responder.ensureTable();
    await responder.block([{ address: other.ipv4, timeoutSeconds: 600 }, { address: other.ipv6 }]);
    await responder.ensureTable();
    await responder.ensureTable();
    assert.equal(await responder.isInstalled(), true);
    assert.equal(await responder.isPresent(), true);
    const ours = await nftText('list', 'table', 'inet', 'portsnare');
    assert.match(ours, /type filter hook prerouting priority raw; policy accept;/);
    assert.equal(ours.match(/ip saddr @blocked4 drop/g)?.length, 1);
    assert.equal(ours.match(/ip6 saddr @blocked6 drop/g)?.length, 1);
    const listed = await responder.list();
    assert.deepEqual(listed.map((b) => b.address).sort(), [other.ipv4, other.ipv6].sort(), 'bans kept');
    assert.ok((listed.find((b) => b.address === other.ipv4)?.expiresInSeconds ?? 0) > 590);
    assert.equal(listed.find((b) => b.address === other.ipv6)?.expiresInSeconds, null);
    assert.equal(await nftText('list', 'table', 'inet', 'other'), otherBefore);

    await responder.flush();
    await responder.flush();
    assert.equal(await responder.isInstalled(), false);
    assert.equal(await responder.isPresent(), false);
    assert.deepEqual(await responder.list(), []);
    assert.equal(await nftText('list', 'table', 'inet', 'other'), otherBefore);
    assert.equal((await nftText('list', 'tables')).trim(), 'table inet other');
  });

  await t.test('a blocked IPv4 and IPv6 scanner cannot connect, others can; unblock restores', async () => {
    await fresh();
    assert.equal(await reach(scanner, sensor.ipv4), 'connected');
    await responder.block([{ address: scanner.ipv4 }, { address: scanner.ipv6, timeoutSeconds: 0 }]);
    assert.equal(await reach(scanner, sensor.ipv4), 'timeout');
    assert.equal(await reach(scanner, sensor.ipv6), 'timeout');
    assert.equal(await reach(other, sensor.ipv4), 'connected');
    assert.equal(await reach(other, sensor.ipv6), 'connected');
    await responder.unblock([scanner.ipv4, scanner.ipv6, other.ipv4]); // other was never blocked
    assert.deepEqual(await responder.list(), []);
    assert.equal(await reach(scanner, sensor.ipv4), 'connected');
    assert.equal(await reach(scanner, sensor.ipv6), 'connected');
  });

  await t.test('a ban with a 2 s timeout expires by itself', async () => {
    await fresh();
    const start = Date.now();
    await responder.block([{ address: scanner.ipv4, timeoutSeconds: 2 }]);
    const [ban] = await responder.list();
    assert.equal(ban?.address, scanner.ipv4);
    assert.ok(ban.expiresInSeconds !== null && ban.expiresInSeconds <= 2);
    assert.equal(await reach(scanner, sensor.ipv4), 'timeout');
    await waitFor(async () => (await responder.list()).length === 0, {
      timeoutMs: 6000,
      intervalMs: 100,
      what: 'the element to expire',
    });
    t.diagnostic(`2 s ban gone from the set after ${Date.now() - start} ms`);
    assert.equal(await reach(scanner, sensor.ipv4), 'connected');
  });

  await t.test('after `nft flush ruleset` the watchdog restores table and bans', async () => {
    await fresh();
    const bans: NftBan[] = [{ address: scanner.ipv4, timeoutSeconds: 600 }, { address: scanner.ipv6 }];
    await responder.block(bans);
    const restored: number[] = [];
    const errors: unknown[] = [];
    const watch = watchTable(responder, {
      intervalMs: 250,
      currentBans: () => bans,
      onRestored: (n) => restored.push(n),
      onError: (err) => errors.push(err),
    });
    try {
      await lab.exec(sensor, ['nft', 'flush', 'ruleset']);
      const flushed = Date.now();
      await waitFor(() => restored.length > 0, { timeoutMs: 3000, what: 'the watchdog to restore' });
      t.diagnostic(`watchdog restored ${restored[0]} bans ${Date.now() - flushed} ms after the flush`);
    } finally {
      watch.stop();
    }
    assert.deepEqual(restored, [2]);
    assert.deepEqual(errors, []);
    assert.equal(await responder.isInstalled(), true);
    assert.deepEqual(
      (await responder.list()).map((b) => b.address).sort(),
      [scanner.ipv4, scanner.ipv6].sort(),
    );
    assert.equal(await reach(scanner, sensor.ipv4), 'timeout');
    assert.equal(await reach(scanner, sensor.ipv6), 'timeout');
  });

  await t.test('10,000 bans in one block() call: one nft run, all listed', async () => {
    await fresh();
    const [, x, y] = sensor.ipv4.split('.').map(Number) as [number, number, number];
    const bans: NftBan[] = [];
    for (let i = 0; bans.length < 5000; i++) {
      const third = Math.floor(i / 250);
      if (third !== y) bans.push({ address: `10.${x}.${third}.${(i % 250) + 1}`, timeoutSeconds: 3600 });
    }
    for (let i = 1; i <= 5000; i++)
      bans.push({ address: `2001:db8:ffff::${i.toString(16)}`, timeoutSeconds: 3600 });
    const before = runs;
    let start = performance.now();
    await responder.block(bans);
    const blockMs = performance.now() - start;
    assert.equal(runs - before, 1, 'one nft run');
    start = performance.now();
    const listed = await responder.list();
    const listMs = performance.now() - start;
    assert.equal(listed.length, 10_000);
    assert.deepEqual(new Set(listed.map((b) => b.address)), new Set(bans.map((b) => b.address)));
    assert.ok(listed.every((b) => b.expiresInSeconds !== null && b.expiresInSeconds > 3500));
    start = performance.now();
    await responder.unblock(bans.map((b) => b.address));
    const unblockMs = performance.now() - start;
    assert.deepEqual(await responder.list(), []);
    t.diagnostic(
      `10,000 bans (timeout 3600s): block ${blockMs.toFixed(1)} ms, list ${listMs.toFixed(1)} ms, ` +
        `unblock ${unblockMs.toFixed(1)} ms (each including ip netns exec)`,
    );
  });

  await t.test(
    'a DNAT-published port: an INPUT-chain ban misses it, the prerouting ban drops it',
    async () => {
      await responder.flush();
      const BACKEND_PORT = 9000;
      await serve(lab, backend, BACKEND_PORT, 'backend\n');
      await lab.exec(sensor, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      await lab.exec(sensor, ['nft', '-f', '-'], {
        input: `table ip nat {
        chain prerouting { type nat hook prerouting priority dstnat; tcp dport ${PORT + 1} dnat to ${backend.ipv4}:${BACKEND_PORT}; }
        chain postrouting { type nat hook postrouting priority srcnat; ip daddr ${backend.ipv4} tcp dport ${BACKEND_PORT} masquerade; }
      }
      table inet inputban {
        chain input { type filter hook input priority 0; ip saddr ${scanner.ipv4} drop; }
      }\n`,
      });
      const published = (from: LabHost) => tcpProbe(lab, from, sensor.ipv4, PORT + 1, 1000);
      assert.deepEqual(await published(other), { result: 'connected', data: 'backend\n' });
      assert.equal(await reach(scanner, sensor.ipv4), 'timeout', 'the INPUT ban stops local traffic');
      assert.deepEqual(await published(scanner), { result: 'connected', data: 'backend\n' }, 'but not DNAT');
      await responder.ensureTable();
      await responder.block([{ address: scanner.ipv4 }]);
      assert.equal((await published(scanner)).result, 'timeout');
      assert.deepEqual(await published(other), { result: 'connected', data: 'backend\n' });
    },
  );

  for (const runner of ['libnft', 'spawn'] as const)
    await t.test(
      `the ${runner === 'libnft' ? 'default runner (libnftables in the process)' : 'nft program (spawn, stdin)'} inside the namespace`,
      async () => {
        const moduleUrl = new URL('../nft.ts', import.meta.url).href;
        const runnerUrl = new URL('./runner.ts', import.meta.url).href;
        const script = `
      import { NftResponder } from ${JSON.stringify(moduleUrl)};
      import { libnftUnavailable, spawnRun } from ${JSON.stringify(runnerUrl)};
      if (${JSON.stringify(runner)} === 'libnft' && libnftUnavailable() !== null) throw new Error('libnftables: ' + libnftUnavailable());
      const r = new NftResponder({ table: 'psn_fixture', ...(${JSON.stringify(runner)} === 'spawn' ? { run: (a, i) => spawnRun(a, i) } : {}) });
      const out = { available: await r.isPresent() };
      await r.ensureTable();
      await r.block([{ address: ${JSON.stringify(other.ipv4)}, timeoutSeconds: 60 }, { address: ${JSON.stringify(other.ipv6)} }]);
      out.installed = await r.isInstalled();
      out.list = await r.list();
      const many = Array.from({ length: 10000 }, (_, i) => ({ address: '2001:db8:ffff::' + (i + 1).toString(16), timeoutSeconds: 3600 }));
      let start = performance.now();
      await r.block(many);
      out.blockMs = performance.now() - start;
      start = performance.now();
      out.listed = (await r.list()).length;
      out.listMs = performance.now() - start;
      await r.flush();
      out.after = await r.isInstalled();
      process.stdout.write(JSON.stringify(out));`;
        const tsx = fileURLToPath(import.meta.resolve('tsx'));
        const result = await lab.exec(sensor, [
          process.execPath,
          '--import',
          tsx,
          '--input-type=module',
          '-e',
          script,
        ]);
        const out = JSON.parse(result.stdout) as {
          available: boolean;
          installed: boolean;
          list: { address: string; expiresInSeconds: number | null }[];
          after: boolean;
          blockMs: number;
          listed: number;
          listMs: number;
        };
        assert.equal(out.available, false, 'no table before ensureTable');
        assert.equal(out.installed, true);
        assert.deepEqual(out.list.map((b) => b.address).sort(), [other.ipv4, other.ipv6].sort());
        assert.equal(out.listed, 10_002);
        assert.equal(out.after, false);
        t.diagnostic(
          `10,000 IPv6 bans (timeout 3600s) with the ${runner} runner: block ${out.blockMs.toFixed(1)} ms, ` +
            `list ${out.listMs.toFixed(1)} ms`,
        );
        assert.doesNotMatch(await nftText('list', 'tables'), /psn_fixture/);
      },
    );
});
