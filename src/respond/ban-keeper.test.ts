import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertLog } from '../report/alert-log.ts';
import { formatMessage, type LogMessage } from '../report/messages.ts';
import { BanStore } from '../state/ban-store.ts';
import { makeBan } from '../state/ban.ts';
import {
  BanKeeper,
  LIFT_LINES_PER_BATCH,
  PENDING,
  REFUSAL_LINES_PER_BATCH,
  type BanRequest,
} from './ban-keeper.ts';
import type { ActionReport, BackendName, LiftTarget, ResponseRequest } from './classic-responder.ts';

/** A responder that succeeds or fails as told and records what it was asked. */
function fakeResponder(
  fail: Partial<Record<ActionReport['key'], boolean>> = {},
  present: Partial<Record<ActionReport['key'], boolean>> = {},
  onRespond: () => void = () => undefined,
) {
  const calls = {
    respond: [] as ResponseRequest[],
    lift: [] as LiftTarget[][],
    reapply: [] as { bans: (LiftTarget & { secondsLeft: number | null })[]; routes: boolean }[],
  };
  const keys: ActionReport['key'][] = ['NFT', 'KILL_HOSTS_DENY', 'KILL_ROUTE'];
  const backendOf: Record<string, BackendName> = {
    NFT: 'nft',
    KILL_HOSTS_DENY: 'hosts.deny',
    KILL_ROUTE: 'route',
  };
  return {
    calls,
    plan(): BackendName[] {
      return ['nft', 'hosts.deny', 'route'];
    },
    respond(request: ResponseRequest) {
      calls.respond.push(request);
      onRespond();
      const actions = keys.map((key) => ({ key, ok: !fail[key], detail: key, alreadyThere: present[key] }));
      return Promise.resolve({ ok: actions.every((a) => a.ok), actions });
    },
    lift(bans: readonly LiftTarget[]) {
      calls.lift.push([...bans]);
      return Promise.resolve(new Map(bans.map((b) => [b.address, b.backends.map((x) => backendOf[x] ?? x)])));
    },
    reapply(bans: readonly (LiftTarget & { secondsLeft: number | null })[], routes: boolean) {
      calls.reapply.push({ bans: [...bans], routes });
      return Promise.resolve(0);
    },
  };
}

async function setup(
  fail: Partial<Record<ActionReport['key'], boolean>> = {},
  now = () => 1_000_000,
  present: Partial<Record<ActionReport['key'], boolean>> = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'psn-keeper-'));
  const store = await BanStore.open(dir, { now, dropExpired: false });
  const lines: string[] = [];
  const log: AlertLog = { log: (m: LogMessage) => lines.push(formatMessage(m)), close: () => undefined };
  const responder = fakeResponder(fail, present);
  const lifted: string[] = [];
  const keeper = new BanKeeper({ store, responder, log, now, onLifted: (a) => void lifted.push(...a) });
  return { dir, store, keeper, responder, lines, lifted };
}

const request = (address: string, seconds: number | null = null): BanRequest => ({
  address,
  host: address,
  port: 143,
  mode: 'stcp',
  protocol: 'tcp',
  ports: [143],
  scanType: 'TCP SYN/Normal scan',
  seconds,
});

test('a successful response is recorded with the backends that took it and its expiry', async () => {
  const { keeper, store, responder } = await setup();
  const outcome = await keeper.ban(request('192.0.2.1', 60));
  assert.equal(outcome.ok, true);
  assert.deepEqual(store.get('192.0.2.1'), {
    address: '192.0.2.1',
    since: 1_000_000,
    expires: 1_060_000,
    ports: [143],
    scanType: 'TCP SYN/Normal scan',
    mode: 'stcp',
    backends: ['nft', 'hosts.deny', 'route'],
    state: 'settled',
    origin: 'detection',
    evidence: 'packet',
  });
  assert.equal(responder.calls.respond[0]?.timeoutSeconds, 60);
  assert.equal(keeper.has('192.0.2.1'), true);
  await keeper.ban(request('192.0.2.2', null));
  assert.equal(store.get('192.0.2.2')?.expires, null);
  assert.equal(responder.calls.respond[1]?.timeoutSeconds, null);
});

test('the ban is on disk before any backend is touched (a crash mid-response cannot orphan it)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-keeper-'));
  const store = await BanStore.open(dir, { dropExpired: false });
  let storedWhenResponding: unknown = 'not called';
  const responder = fakeResponder({}, {}, () => {
    const stored = store.get('192.0.2.1');
    storedWhenResponding = stored && { backends: stored.backends, state: stored.state };
  });
  const keeper = new BanKeeper({ store, responder, log: { log: () => undefined, close: () => undefined } });
  await keeper.ban(request('192.0.2.1'));
  assert.deepEqual(storedWhenResponding, { backends: ['nft', 'hosts.deny', 'route'], state: PENDING });
  assert.deepEqual(
    store.get('192.0.2.1')?.backends,
    ['nft', 'hosts.deny', 'route'],
    'settled after the response',
  );
  await store.close();
});

test('a hosts.deny line that was already there is neither recorded as ours nor removed on failure', async () => {
  const ok = await setup({}, () => 1_000_000, { KILL_HOSTS_DENY: true });
  await ok.keeper.ban(request('192.0.2.1'));
  assert.deepEqual(ok.store.get('192.0.2.1')?.backends, ['nft', 'route']);
  const failed = await setup({ KILL_ROUTE: true }, () => 1_000_000, { KILL_HOSTS_DENY: true });
  await failed.keeper.ban(request('192.0.2.1'));
  assert.deepEqual(failed.responder.calls.lift, [
    [{ address: '192.0.2.1', backends: ['nft'], port: 143, mode: 'stcp' }],
  ]);
  assert.equal(failed.store.has('192.0.2.1'), false);
});

test('a failed response is undone where it succeeded and recorded nowhere', async () => {
  const { keeper, store, responder } = await setup({ KILL_ROUTE: true });
  const outcome = await keeper.ban(request('192.0.2.1'));
  assert.equal(outcome.ok, false);
  assert.equal(outcome.ban, null);
  assert.equal(store.has('192.0.2.1'), false);
  assert.deepEqual(responder.calls.lift, [
    [{ address: '192.0.2.1', backends: ['nft', 'hosts.deny'], port: 143, mode: 'stcp' }],
  ]);
});

test('expiry lifts from every backend, logs, forgets, and tells the daemon; only due bans', async () => {
  let now = 1_000_000;
  const { keeper, store, responder, lines, lifted } = await setup({}, () => now);
  await keeper.ban(request('192.0.2.1', 2));
  await keeper.ban(request('192.0.2.2', 60));
  await keeper.ban(request('192.0.2.3', null));
  now += 1999;
  assert.equal(await keeper.expire(), 0);
  now += 1;
  assert.equal(await keeper.expire(), 1);
  assert.deepEqual(lines, [
    'attackalert: Host 192.0.2.1 has been unblocked (ban expired): nft, hosts.deny, route',
  ]);
  assert.deepEqual(lifted, ['192.0.2.1']);
  assert.deepEqual([...store.all()].map((b) => b.address).sort(), ['192.0.2.2', '192.0.2.3']);
  assert.equal(responder.calls.lift.length, 1);
});

test('unblock: one address, a CIDR block, an address not banned; flush lifts the rest', async () => {
  const { keeper, store, responder, lines } = await setup();
  for (const a of ['192.0.2.1', '192.0.2.200', '198.51.100.7', '2001:db8::5']) await keeper.ban(request(a));
  const one = await keeper.unblock('192.0.2.1');
  assert.deepEqual(
    one.lifted.map((b) => b.address),
    ['192.0.2.1'],
  );
  const block = await keeper.unblock('192.0.2.0/24');
  assert.deepEqual(
    block.lifted.map((b) => b.address),
    ['192.0.2.200'],
  );
  // Not banned: reported as not found, and still cleaned from nft and hosts.deny.
  const none = await keeper.unblock('203.0.113.9');
  assert.deepEqual(none, { lifted: [], found: false });
  assert.deepEqual(responder.calls.lift.at(-1), [
    { address: '203.0.113.9', backends: ['nft', 'hosts.deny'], port: 0, mode: 'manual' },
  ]);
  await assert.rejects(keeper.unblock('not-an-address'), /not an address or CIDR block/);
  assert.ok(
    lines.includes(
      'attackalert: Host 192.0.2.1 has been unblocked (unblocked on request): nft, hosts.deny, route',
    ),
  );
  const flushed = await keeper.flush();
  assert.deepEqual(flushed.map((b) => b.address).sort(), ['198.51.100.7', '2001:db8::5']);
  assert.equal(store.size, 0);
});

test('restore puts back what has time left (with what is left), then lifts what expired while down', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-keeper-'));
  const before = await BanStore.open(dir, { now: () => 0 });
  await before.addMany([
    makeBan('192.0.2.1', 0, null, [1], 'Connect', 'tcp', ['nft', 'hosts.deny', 'route']),
    makeBan('192.0.2.2', 0, 100_500, [2], 'Connect', 'tcp', ['nft']),
    makeBan('192.0.2.3', 0, 50_000, [3], 'Connect', 'tcp', ['hosts.deny', 'route']),
  ]);
  await before.close();
  const now = () => 60_000;
  const store = await BanStore.open(dir, { now, dropExpired: false });
  assert.equal(store.size, 3, 'the expired ban is still stored until it is lifted');
  const responder = fakeResponder();
  const lines: string[] = [];
  const log: AlertLog = { log: (m: LogMessage) => lines.push(formatMessage(m)), close: () => undefined };
  const keeper = new BanKeeper({ store, responder, log, now });
  assert.equal(await keeper.restore(true), 2);
  assert.deepEqual(responder.calls.reapply, [
    {
      routes: true,
      bans: [
        {
          address: '192.0.2.1',
          backends: ['nft', 'hosts.deny', 'route'],
          port: 1,
          mode: 'tcp',
          secondsLeft: null,
        },
        { address: '192.0.2.2', backends: ['nft'], port: 2, mode: 'tcp', secondsLeft: 41 },
      ],
    },
  ]);
  assert.deepEqual(responder.calls.lift, [
    [{ address: '192.0.2.3', backends: ['hosts.deny', 'route'], port: 3, mode: 'tcp' }],
  ]);
  assert.deepEqual(lines, [
    'attackalert: Host 192.0.2.3 has been unblocked (ban expired): hosts.deny, route',
  ]);
  assert.equal(store.size, 2);
  await store.close();
});

test('a mass lift logs a line per host up to a limit, then one line for the rest', async () => {
  const { keeper, lines, store } = await setup();
  for (let i = 0; i < LIFT_LINES_PER_BATCH + 5; i++) await keeper.ban(request(`198.51.100.${i}`));
  lines.length = 0;
  assert.equal((await keeper.flush()).length, LIFT_LINES_PER_BATCH + 5);
  assert.equal(lines.length, LIFT_LINES_PER_BATCH + 1);
  assert.equal(lines.at(-1), 'attackalert: 5 more host(s) have been unblocked (all bans flushed)');
  assert.equal(store.size, 0);
});

test('a ban a crash cut off mid-response is put back in every planned backend, its route redone, its record settled', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-keeper-'));
  const before = await BanStore.open(dir, { now: () => 0 });
  await before.addMany([
    makeBan('192.0.2.1', 0, null, [1], 'Connect', 'tcp', ['hosts.deny', 'route']),
    makeBan('192.0.2.2', 0, null, [2], 'Connect', 'tcp', ['hosts.deny', 'route'], { state: PENDING }),
  ]);
  await before.close();
  const store = await BanStore.open(dir, { now: () => 1000, dropExpired: false });
  const responder = fakeResponder();
  const keeper = new BanKeeper({
    store,
    responder,
    log: { log: () => undefined, close: () => undefined },
    now: () => 1000,
  });
  assert.equal(await keeper.restore(false), 2);
  assert.deepEqual(
    responder.calls.reapply.map((r) => [r.bans.map((b) => b.address), r.routes]),
    [
      [['192.0.2.1'], false],
      [['192.0.2.2'], true],
    ],
  );
  assert.deepEqual(store.get('192.0.2.2')?.backends, ['hosts.deny', 'route']);
  assert.equal(store.get('192.0.2.2')?.state, 'settled');
  assert.equal(store.get('192.0.2.2')?.origin, 'detection', 'a restored ban keeps its origin');
  await store.close();
});

test('restore re-checks the never-block lists: a refused ban is not put back, is lifted from its backends and forgotten, and said', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-keeper-'));
  const before = await BanStore.open(dir, { now: () => 0 });
  await before.addMany([
    makeBan('192.0.2.1', 0, null, [1], 'Connect', 'tcp', ['nft', 'hosts.deny']),
    makeBan('192.0.2.9', 0, null, [2], 'Connect', 'tcp', ['nft', 'route']),
    makeBan('127.0.0.1', 0, null, [3], 'manual', 'manual', ['hosts.deny'], { state: PENDING }),
  ]);
  await before.close();
  const store = await BanStore.open(dir, { now: () => 1000, dropExpired: false });
  const responder = fakeResponder();
  const lines: string[] = [];
  const log: AlertLog = { log: (m: LogMessage) => lines.push(formatMessage(m)), close: () => undefined };
  const lifted: string[] = [];
  const keeper = new BanKeeper({
    store,
    responder,
    log,
    now: () => 1000,
    onLifted: (a) => void lifted.push(...a),
  });
  const reasons: Record<string, string> = {
    '192.0.2.9': 'it is on the ignore list',
    '127.0.0.1': 'it is an address of this host',
  };
  const cutOff: string[] = [];
  const count = await keeper.restore(false, {
    refuse: (a) => reasons[a] ?? null,
    recordCutOff: (bans) => Promise.resolve(void cutOff.push(...bans.map((b) => b.address))),
  });
  assert.equal(count, 1);
  assert.deepEqual(
    responder.calls.reapply.map((r) => r.bans.map((b) => b.address)),
    [['192.0.2.1']],
  );
  assert.deepEqual(responder.calls.lift, [
    [
      { address: '192.0.2.9', backends: ['nft', 'route'], port: 2, mode: 'tcp' },
      { address: '127.0.0.1', backends: ['hosts.deny'], port: 3, mode: 'manual' },
    ],
  ]);
  assert.deepEqual(lines, [
    'adminalert: Not restoring the ban of host 192.0.2.9: it is on the ignore list; lifted from: nft, route',
    'adminalert: Not restoring the ban of host 127.0.0.1: it is an address of this host; lifted from: hosts.deny',
  ]);
  assert.deepEqual(
    [...store.all()].map((b) => b.address),
    ['192.0.2.1'],
  );
  assert.deepEqual(lifted.sort(), ['127.0.0.1', '192.0.2.9']);
  assert.deepEqual(cutOff, [], 'a refused pending ban gets no history line');
  await store.close();
  // The next start finds nothing of them.
  const again = await BanStore.open(dir, { now: () => 2000, dropExpired: false });
  assert.deepEqual(
    [...again.all()].map((b) => b.address),
    ['192.0.2.1'],
  );
  await again.close();
});

test('refused bans past a few are said in one line; a reload lifts bans that became never-block ones', async () => {
  const { keeper, lines, store } = await setup();
  for (let i = 0; i < REFUSAL_LINES_PER_BATCH + 3; i++) await keeper.ban(request(`198.51.100.${i}`));
  await keeper.ban(request('192.0.2.50'));
  lines.length = 0;
  const refusals = keeper.refusals((a) => (a.startsWith('198.51.100.') ? 'it is on the ignore list' : null));
  assert.equal(refusals.length, REFUSAL_LINES_PER_BATCH + 3);
  assert.equal((await keeper.liftRefused(refusals, 'reload')).length, REFUSAL_LINES_PER_BATCH + 3);
  assert.equal(lines.length, REFUSAL_LINES_PER_BATCH + 1);
  assert.equal(
    lines[0],
    'attackalert: Host 198.51.100.0 has been unblocked (it is on the ignore list): nft, hosts.deny, route',
  );
  assert.equal(lines.at(-1), 'attackalert: 3 more host(s) have been unblocked: they are never blocked');
  assert.deepEqual(
    [...store.all()].map((b) => b.address),
    ['192.0.2.50'],
  );
});

test('a ban is recorded (its history line) after its response and before it is settled; a failed one is not', async () => {
  const { keeper, store } = await setup();
  const states: (string | undefined)[] = [];
  const ok = await keeper.ban({
    ...request('192.0.2.1'),
    record: () => Promise.resolve(void states.push(store.get('192.0.2.1')?.state)),
  });
  assert.equal(ok.ok, true);
  assert.deepEqual(states, ['pending'], 'the line is written while the stored ban is still pending');
  assert.equal(store.get('192.0.2.1')?.state, 'settled');
  const failing = await setup({ NFT: true });
  let recorded = false;
  await failing.keeper.ban({
    ...request('192.0.2.2'),
    record: () => Promise.resolve(void (recorded = true)),
  });
  assert.equal(recorded, false);
});
