// The nftables responder: the exact nft text it generates, batching, ordering, validation and errors,
// with an injected `run`; then, as root, against the real nft inside the sensor namespace of a lab
// (test/helpers/netns.ts): idempotent setup beside another table, IPv4/IPv6 bans that stop a scanner
// and nobody else, kernel-side expiry, unblock, the watchdog after `nft flush ruleset`, 10,000 bans in
// one run, and a DNAT'd port that an INPUT-chain ban misses but the prerouting ban does not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../errors.ts';
import { tcpProbe } from '../../test/helpers/daemon.ts';
import { createLab, waitFor, type Lab, type LabHost, type LabProcess } from '../../test/helpers/netns.ts';
import {
  FirewallError,
  NFT_TIMEOUT_MS,
  NftResponder,
  watchTable,
  type NftBan,
  type NftRun,
  type NftRunResult,
} from './nft.ts';

const OK: NftRunResult = { code: 0, stdout: '', stderr: '' };

/** A fake nft: records every run, answers with `answer` (default: success, no output). */
function fakeNft(answer: (argv: string[], input?: string) => NftRunResult = () => OK) {
  const calls: { argv: string[]; input: string | undefined }[] = [];
  const run: NftRun = (argv, input) => {
    calls.push({ argv, input });
    return Promise.resolve(answer(argv, input));
  };
  return { calls, run };
}

// Real `nft -j list chain inet portsnare prerouting` output (nft 1.0.6), handles trimmed.
const CHAIN_JSON = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', json_schema_version: 1 } },
    {
      chain: {
        family: 'inet',
        table: 'portsnare',
        name: 'prerouting',
        type: 'filter',
        hook: 'prerouting',
        prio: -300,
        policy: 'accept',
      },
    },
    ...(['ip', 'ip6'] as const).map((protocol) => ({
      rule: {
        family: 'inet',
        table: 'portsnare',
        chain: 'prerouting',
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol, field: 'saddr' } },
              right: protocol === 'ip' ? '@blocked4' : '@blocked6',
            },
          },
          { drop: null },
        ],
      },
    })),
  ],
});
const MISSING: NftRunResult = {
  code: 1,
  stdout: '',
  stderr:
    'Error: No such file or directory\nlist chain inet portsnare prerouting\n                ^^^^^^^^^\n',
};

// ---------------------------------------------------------------------------------------------
// Unit tests (injected run).

void test('ensureTable: one `nft -f -` transaction that creates what is missing and resets the chain', async () => {
  const nft = fakeNft();
  await new NftResponder({ run: nft.run, nft: '/usr/sbin/nft' }).ensureTable();
  assert.deepEqual(nft.calls, [
    {
      argv: ['/usr/sbin/nft', '-f', '-'],
      input:
        'add table inet portsnare\n' +
        'add set inet portsnare blocked4 { type ipv4_addr; flags timeout; }\n' +
        'add set inet portsnare blocked6 { type ipv6_addr; flags timeout; }\n' +
        'add set inet portsnare installed { type inet_service; }\n' +
        'add element inet portsnare installed { 1 }\n' +
        'add chain inet portsnare prerouting { type filter hook prerouting priority -300; policy accept; }\n' +
        'flush chain inet portsnare prerouting\n' +
        'add rule inet portsnare prerouting ip saddr @blocked4 drop\n' +
        'add rule inet portsnare prerouting ip6 saddr @blocked6 drop\n',
    },
  ]);
  assert.ok(!nft.calls[0]?.input?.includes('flush set'), 'never flushes a set');
});

void test('block: calls of one tick become one run, one statement per set, timeouts per element', async () => {
  const nft = fakeNft();
  const responder = new NftResponder({ run: nft.run, table: 'psn_test' });
  const calls: Promise<void>[] = [];
  for (let i = 1; i <= 100; i++)
    calls.push(responder.block([{ address: `10.9.0.${i}`, timeoutSeconds: 60 }]));
  calls.push(
    responder.block([
      { address: '2001:db8::1' },
      { address: '2001:DB8:0:0::2', timeoutSeconds: 0 },
      { address: '2001:db8::3', timeoutSeconds: 3600 },
      { address: '10.9.1.1' },
      { address: '10.9.0.5', timeoutSeconds: 7 }, // the same address again: the newest ban wins
    ]),
  );
  await Promise.all(calls);
  assert.equal(nft.calls.length, 1);
  const v4 = Array.from({ length: 100 }, (_, i) => i + 1)
    .filter((i) => i !== 5)
    .map((i) => `10.9.0.${i} timeout 60s`);
  assert.deepEqual(nft.calls[0], {
    argv: ['nft', '-f', '-'],
    input:
      `add element inet psn_test blocked4 { ${[...v4, '10.9.1.1', '10.9.0.5 timeout 7s'].join(', ')} }\n` +
      'add element inet psn_test blocked6 { 2001:db8::1, 2001:db8::2, 2001:db8::3 timeout 3600s }\n',
  });

  // A later tick is a new run.
  await responder.block([{ address: '10.9.0.200' }]);
  assert.equal(nft.calls.length, 2);
  assert.equal(nft.calls[1]?.input, 'add element inet psn_test blocked4 { 10.9.0.200 }\n');
});

void test('batchDelayMs also coalesces calls a little apart', async () => {
  const nft = fakeNft();
  const responder = new NftResponder({ run: nft.run, batchDelayMs: 30 });
  const first = responder.block([{ address: '10.9.0.1' }]);
  await nextTurn();
  const second = responder.block([{ address: '2001:db8::9' }]);
  await Promise.all([first, second]);
  assert.equal(nft.calls.length, 1);
});

void test('operations run in call order: a block after an unblock is not merged ahead of it', async () => {
  const nft = fakeNft();
  const responder = new NftResponder({ run: nft.run });
  await Promise.all([
    responder.block([{ address: '10.9.0.1' }]),
    responder.unblock(['10.9.0.1']),
    responder.block([{ address: '10.9.0.1', timeoutSeconds: 5 }]),
  ]);
  assert.deepEqual(
    nft.calls.map((c) => c.input),
    [
      'add element inet portsnare blocked4 { 10.9.0.1 }\n',
      'add element inet portsnare blocked4 { 10.9.0.1 }\ndelete element inet portsnare blocked4 { 10.9.0.1 }\n',
      'add element inet portsnare blocked4 { 10.9.0.1 timeout 5s }\n',
    ],
  );
});

void test('unblock: add then delete in one transaction, so an absent address is no error', async () => {
  const nft = fakeNft();
  await new NftResponder({ run: nft.run }).unblock([
    '10.9.0.1',
    '2001:db8::a',
    '::ffff:10.9.0.2',
    '10.9.0.1',
  ]);
  assert.deepEqual(nft.calls, [
    {
      argv: ['nft', '-f', '-'],
      input:
        'add element inet portsnare blocked4 { 10.9.0.1, 10.9.0.2 }\n' +
        'add element inet portsnare blocked6 { 2001:db8::a }\n' +
        'delete element inet portsnare blocked4 { 10.9.0.1, 10.9.0.2 }\n' +
        'delete element inet portsnare blocked6 { 2001:db8::a }\n',
    },
  ]);
});

void test('flush deletes only the own table, also when it is not there; empty calls run nothing', async () => {
  const nft = fakeNft();
  const responder = new NftResponder({ run: nft.run, table: 'psn_test' });
  await responder.flush();
  assert.deepEqual(nft.calls, [
    { argv: ['nft', '-f', '-'], input: 'add table inet psn_test\ndelete table inet psn_test\n' },
  ]);
  await responder.block([]);
  await responder.unblock([]);
  assert.equal(nft.calls.length, 1);
  await responder.flushSets();
  assert.deepEqual(nft.calls[1], {
    argv: ['nft', '-f', '-'],
    input: 'flush set inet psn_test blocked4\nflush set inet psn_test blocked6\n',
  });
});

void test('hostile or invalid input is rejected before anything runs', async () => {
  const nft = fakeNft();
  const responder = new NftResponder({ run: nft.run });
  const hostile = [
    '1.2.3.4; flush ruleset',
    '1.2.3.4 }',
    '1.2.3.4 } ; delete table inet filter',
    '1.2.3.4\nflush ruleset',
    ' 1.2.3.4',
    '',
    '10/8',
    '1.2.3',
    '01.2.3.4',
    'fe80::1%eth0',
    'localhost',
    '2001:db8::/32',
  ];
  for (const address of hostile) {
    await assert.rejects(responder.block([{ address }]), { code: ErrorCodes.INVALID_ADDRESS }, address);
    await assert.rejects(responder.unblock([address]), { code: ErrorCodes.INVALID_ADDRESS }, address);
  }
  // One bad address spoils its whole call, even with good ones beside it.
  await assert.rejects(responder.block([{ address: '10.9.0.1' }, { address: '10.9.0.2 }' }]));
  for (const timeoutSeconds of [-1, 1.5, Number.NaN, Infinity, 100_000_000]) {
    await assert.rejects(responder.block([{ address: '10.9.0.1', timeoutSeconds }]), RangeError);
  }
  assert.equal(nft.calls.length, 0);
  assert.throws(() => new NftResponder({ table: 'x; flush ruleset' }), /invalid nftables table name/);

  // A mapped IPv4 address is the IPv4 host and goes to the IPv4 set.
  await responder.block([{ address: '::ffff:1.2.3.4' }]);
  assert.equal(nft.calls[0]?.input, 'add element inet portsnare blocked4 { 1.2.3.4 }\n');
});

void test('a failing nft run rejects every caller of its batch with a FirewallError; the queue goes on', async () => {
  const stderr =
    'Error: Could not process rule: No such file or directory\n' +
    'add element inet portsnare blocked4 { 10.9.0.1, 10.9.0.2 }\n' +
    '                           ^^^^^^^^\n';
  let fail = true;
  const nft = fakeNft(() => (fail ? { code: 1, stdout: '', stderr } : OK));
  const responder = new NftResponder({ run: nft.run });
  const calls = [responder.block([{ address: '10.9.0.1' }]), responder.block([{ address: '10.9.0.2' }])];
  for (const call of calls) {
    await assert.rejects(call, (err: unknown) => {
      assert.ok(err instanceof FirewallError);
      assert.equal(err.code, ErrorCodes.COMMAND_FAILED);
      assert.equal(err.command, 'nft -f -');
      assert.equal(err.exitCode, 1);
      assert.equal(err.stderr, stderr);
      assert.equal(err.input, 'add element inet portsnare blocked4 { 10.9.0.1, 10.9.0.2 }\n');
      assert.match(err.message, /^nft -f -: exit 1: Error: Could not process rule/);
      return true;
    });
  }
  assert.equal(nft.calls.length, 1);
  fail = false;
  await responder.ensureTable();
  assert.equal(nft.calls.length, 2);
});

void test('a run that cannot start is a FirewallError without exit code', async () => {
  const broken = new NftResponder({ run: () => Promise.reject(new Error('spawn nft ENOENT')) });
  await assert.rejects(broken.flush(), { name: 'FirewallError', exitCode: null, stderr: 'spawn nft ENOENT' });
  // The default runner, with a binary that does not exist (nothing is run).
  const missing = new NftResponder({ nft: '/nonexistent/nft' });
  await assert.rejects(missing.ensureTable(), (err: unknown) => {
    assert.ok(err instanceof FirewallError);
    assert.equal(err.exitCode, null);
    assert.match(err.stderr, /ENOENT/);
    return true;
  });
});

void test('isInstalled reads the chain as JSON: table, hook, priority and both rules', async () => {
  const installed = (answer: NftRunResult) =>
    new NftResponder({ run: fakeNft(() => answer).run }).isInstalled();
  assert.equal(await installed({ ...OK, stdout: CHAIN_JSON }), true);
  assert.equal(await installed(MISSING), false);
  const oneRule = JSON.parse(CHAIN_JSON) as { nftables: unknown[] };
  oneRule.nftables.pop();
  assert.equal(await installed({ ...OK, stdout: JSON.stringify(oneRule) }), false);
  assert.equal(await installed({ ...OK, stdout: CHAIN_JSON.replace('-300', '0') }), false);
  await assert.rejects(installed({ code: 1, stdout: '', stderr: 'Error: Operation not permitted\n' }), {
    name: 'FirewallError',
    command: 'nft -j list chain inet portsnare prerouting',
  });
  const nft = fakeNft(() => MISSING);
  await new NftResponder({ run: nft.run }).isInstalled();
  assert.deepEqual(nft.calls, [
    { argv: ['nft', '-j', 'list', 'chain', 'inet', 'portsnare', 'prerouting'], input: undefined },
  ]);
});

void test('deferTable: only checks (nft -c), then the first block() makes the table once; lifting needs no table', async () => {
  const nft = fakeNft((argv) => (argv.includes('installed') ? MISSING : OK));
  const responder = new NftResponder({ run: nft.run });
  await responder.deferTable();
  assert.deepEqual(
    nft.calls.map((c) => c.argv.join(' ')),
    ['nft -c -f -'],
  );
  assert.match(nft.calls[0]?.input ?? '', /^add table inet portsnare\n/);
  assert.equal(responder.tableCreated, false);
  // Nothing to lift from a table that is not there: only the cheap marker check runs.
  await responder.unblock(['192.0.2.1']);
  await responder.flushSets();
  assert.deepEqual(
    nft.calls.slice(1).map((c) => c.argv.join(' ')),
    ['nft -j list set inet portsnare installed', 'nft -j list set inet portsnare installed'],
  );
  // Two bans at once: one table creation, then one element batch.
  nft.calls.length = 0;
  await Promise.all([
    responder.block([{ address: '192.0.2.1' }]),
    responder.block([{ address: '192.0.2.2' }]),
  ]);
  assert.deepEqual(
    nft.calls.map((c) => c.input?.split('\n')[0]),
    ['add table inet portsnare', 'add element inet portsnare blocked4 { 192.0.2.1, 192.0.2.2 }'],
  );
  assert.equal(responder.tableCreated, true);
  // A failing check is the caller's error: nft cannot be used.
  const broken = new NftResponder({
    run: fakeNft(() => ({ code: 1, stdout: '', stderr: 'Error: Operation not permitted\n' })).run,
  });
  await assert.rejects(broken.deferTable(), { name: 'FirewallError', command: 'nft -c -f -' });
});

void test('isPresent lists only the one-element marker set (cheap with a million bans)', async () => {
  const nft = fakeNft(() => MISSING);
  assert.equal(await new NftResponder({ run: nft.run }).isPresent(), false);
  assert.deepEqual(nft.calls, [
    { argv: ['nft', '-j', 'list', 'set', 'inet', 'portsnare', 'installed'], input: undefined },
  ]);
  assert.equal(await new NftResponder({ run: fakeNft(() => OK).run }).isPresent(), true);
});

void test('list parses both sets; a missing table lists nothing', async () => {
  const set = (name: string, elem: unknown[]) =>
    JSON.stringify({ nftables: [{ metainfo: {} }, { set: { family: 'inet', name, elem } }] });
  const nft = fakeNft((argv) =>
    argv.includes('blocked4')
      ? {
          ...OK,
          stdout: set('blocked4', [{ elem: { val: '10.9.0.1', timeout: 60, expires: 59 } }, '10.9.0.2']),
        }
      : { ...OK, stdout: set('blocked6', ['2001:db8::1']) },
  );
  assert.deepEqual(await new NftResponder({ run: nft.run }).list(), [
    { address: '10.9.0.1', expiresInSeconds: 59 },
    { address: '10.9.0.2', expiresInSeconds: null },
    { address: '2001:db8::1', expiresInSeconds: null },
  ]);
  assert.deepEqual(nft.calls[0]?.argv, ['nft', '-j', 'list', 'set', 'inet', 'portsnare', 'blocked4']);
  assert.deepEqual(await new NftResponder({ run: fakeNft(() => MISSING).run }).list(), []);
});

void test('watchTable restores table and bans when the table is gone, and reports errors', async () => {
  const answers: (boolean | Error)[] = [true, false, new Error('nft broke')]; // then true for ever
  const log: string[] = [];
  const errors: unknown[] = [];
  const bans: NftBan[] = [{ address: '10.9.0.1', timeoutSeconds: 30 }, { address: '2001:db8::1' }];
  const responder = {
    isPresent: () => {
      log.push('check');
      const next = answers.shift() ?? true;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    ensureTable: () => (log.push('ensureTable'), Promise.resolve()),
    block: (b: NftBan[]) => (log.push(`block ${b.length}`), Promise.resolve()),
  };
  const restored: number[] = [];
  const watch = watchTable(responder, {
    intervalMs: 5,
    currentBans: () => bans,
    onRestored: (n) => restored.push(n),
    onError: (err) => errors.push(err),
  });
  await waitFor(() => errors.length > 0, { timeoutMs: 2000, what: 'the failing check' });
  watch.stop();
  const settled = log.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(log.length, settled, 'no check after stop()');
  assert.deepEqual(log.slice(0, 5), ['check', 'check', 'ensureTable', 'block 2', 'check']);
  assert.ok(log.slice(5).every((entry) => entry === 'check'));
  assert.deepEqual(restored, [2]);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /nft broke/);
});

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

  await t.test('the default runner (spawn, stdin) inside the namespace', async () => {
    const moduleUrl = new URL('./nft.ts', import.meta.url).href;
    const script = `
      import { NftResponder } from ${JSON.stringify(moduleUrl)};
      const r = new NftResponder({ table: 'psn_fixture' });
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
      `10,000 IPv6 bans (timeout 3600s) with the default spawn runner: block ${out.blockMs.toFixed(1)} ms, ` +
        `list ${out.listMs.toFixed(1)} ms`,
    );
    assert.doesNotMatch(await nftText('list', 'tables'), /psn_fixture/);
  });
});
