// The nftables responder with an injected `run`: the exact nft text it generates, batching, ordering,
// validation and errors. The real nft in a namespace is respond/nft/lab.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ErrorCodes } from '../../errors.ts';
import { NftResponder } from './responder.ts';
import { FirewallError, type NftRun, type NftRunResult } from './runner.ts';

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
