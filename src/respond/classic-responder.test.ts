import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfText } from '../config/conf-file.ts';
import { settingsFromConf, type Settings } from '../config/settings.ts';
import type { AlertLog } from '../report/alert-log.ts';
import { formatMessage, type LogMessage } from '../report/messages.ts';
import { ClassicResponder, type ReapplyTarget } from './classic-responder.ts';
import { runCommand, type CommandResult, type CommandRunner } from './exec.ts';
import { addHostsDenyLine, addHostsDenyLines, removeHostsDenyLines } from './hosts-deny.ts';

async function setup(conf: string, results: Record<string, CommandResult> = {}, runner?: CommandRunner) {
  const dir = await mkdtemp(join(tmpdir(), 'psn-responder-'));
  const hostsDeny = join(dir, 'hosts.deny');
  const loaded = settingsFromConf(
    parseConfText(
      '/t.conf',
      conf.includes('HOSTS_DENY_FILE') ? conf : `HOSTS_DENY_FILE="${hostsDeny}"\n${conf}`,
    ),
  );
  assert.deepEqual(loaded.diagnostics, []);
  const lines: string[] = [];
  const ran: string[][] = [];
  const log: AlertLog = { log: (m: LogMessage) => lines.push(formatMessage(m)), close: () => undefined };
  const responder = new ClassicResponder({
    settings: (): Settings => loaded.settings,
    log,
    run: (argv) => {
      ran.push([...argv]);
      return runner ? runner(argv) : Promise.resolve(results[argv[0] ?? ''] ?? { ok: true });
    },
    addHostsDenyLine,
  });
  return { responder, lines, ran, hostsDeny };
}

const request = {
  address: '192.0.2.7',
  host: '192.0.2.7',
  port: 143,
  mode: 'tcp' as const,
  protocol: 'tcp' as const,
};

test('BLOCK_TCP=1: hosts.deny, then route, then the command, with 1.2 lines', async () => {
  const { responder, lines, ran, hostsDeny } = await setup(
    'BLOCK_TCP="1"\nKILL_ROUTE="/sbin/route add -host $TARGET$ reject"\nKILL_RUN_CMD="/usr/local/bin/notify $TARGET$ $PORT$ $MODE$"\n',
  );
  const outcome = await responder.respond(request);
  assert.equal(outcome.ok, true);
  assert.deepEqual(lines, [
    'attackalert: Host 192.0.2.7 has been blocked via wrappers with string: "ALL: 192.0.2.7 : DENY"',
    'attackalert: Host 192.0.2.7 has been blocked via dropped route using command: "/sbin/route add -host 192.0.2.7 reject"',
    'attackalert: External command run for host: 192.0.2.7 using command: "/usr/local/bin/notify 192.0.2.7 143 tcp"',
  ]);
  assert.deepEqual(ran, [
    ['/sbin/route', 'add', '-host', '192.0.2.7', 'reject'],
    ['/usr/local/bin/notify', '192.0.2.7', '143', 'tcp'],
  ]);
  assert.equal(await readFile(hostsDeny, 'utf8'), 'ALL: 192.0.2.7 : DENY\n');
});

test('KILL_RUN_CMD_FIRST runs the command before the other actions', async () => {
  const { responder, lines } = await setup(
    'BLOCK_TCP="1"\nKILL_RUN_CMD="/x $TARGET$"\nKILL_RUN_CMD_FIRST="1"\n',
  );
  await responder.respond(request);
  assert.deepEqual(
    lines.map((l) => l.split(' has been')[0]?.split(' using')[0]),
    [
      'attackalert: External command run for host: 192.0.2.7',
      'attackalert: Host 192.0.2.7',
      'attackalert: Host 192.0.2.7',
    ],
  );
});

test('a failing KILL_ROUTE is a failed response, said as such', async () => {
  const { responder, lines } = await setup('BLOCK_TCP="1"\nKILL_HOSTS_DENY=""\n', {
    '/sbin/route': { ok: false, reason: 'program not found: /sbin/route' },
  });
  const outcome = await responder.respond(request);
  assert.equal(outcome.ok, false);
  assert.deepEqual(lines, [
    'adminalert: ERROR: There was an error trying to block host (exec fail) 192.0.2.7',
    'adminalert: ERROR: KILL_ROUTE for host 192.0.2.7 failed: /sbin/route: program not found: /sbin/route',
    'attackalert: ERROR: Could not block host 192.0.2.7 !!',
  ]);
});

test('a KILL_RUN_CMD printing 1 MB (the real runner) is a response that worked, not an undone ban', async () => {
  // Issue 9 item 10: "stdout maxBuffer length exceeded" failed it after its blocked lines were logged.
  const { responder, lines } = await setup(
    'BLOCK_TCP="1"\nKILL_ROUTE=""\nKILL_RUN_CMD="/usr/bin/head -c 1000000 /dev/zero"\n',
    {},
    runCommand,
  );
  const outcome = await responder.respond(request);
  assert.equal(outcome.ok, true);
  assert.deepEqual(lines, [
    'attackalert: Host 192.0.2.7 has been blocked via wrappers with string: "ALL: 192.0.2.7 : DENY"',
    'attackalert: External command run for host: 192.0.2.7 using command: "/usr/bin/head -c 1000000 /dev/zero"',
  ]);
});

test('nothing is logged as blocked before the whole response worked; a failed one never says it', async () => {
  const seen: string[][] = [];
  let lines: string[] = [];
  const conf = 'BLOCK_TCP="1"\nKILL_ROUTE="/sbin/route add $TARGET$"\nKILL_RUN_CMD="/notify $TARGET$"\n';
  const runner = (fail: boolean) => (argv: readonly string[]) => {
    seen.push([argv[0] ?? '', ...lines]);
    return Promise.resolve(
      fail && argv[0] === '/notify' ? { ok: false, reason: 'exited with status 1' } : { ok: true },
    );
  };
  const good = await setup(conf, {}, runner(false));
  lines = good.lines;
  assert.equal((await good.responder.respond(request)).ok, true);
  // When the command ran, hosts.deny and the route were done but not yet announced.
  assert.deepEqual(seen, [['/sbin/route'], ['/notify']]);
  assert.deepEqual(
    good.lines.map((l) => l.split(' with')[0]?.split(' using')[0]),
    [
      'attackalert: Host 192.0.2.7 has been blocked via wrappers',
      'attackalert: Host 192.0.2.7 has been blocked via dropped route',
      'attackalert: External command run for host: 192.0.2.7',
    ],
  );
  const bad = await setup(conf, {}, runner(true));
  assert.equal((await bad.responder.respond(request)).ok, false);
  assert.deepEqual(bad.lines, [
    'adminalert: ERROR: There was an error trying to run command (exec fail) 192.0.2.7',
    'adminalert: ERROR: KILL_RUN_CMD for host 192.0.2.7 failed: /notify: exited with status 1',
    'attackalert: ERROR: Could not block host 192.0.2.7 !!',
  ]);
});

test('"&&" steps stop at the first failure', async () => {
  const { responder, ran } = await setup('BLOCK_UDP="2"\nKILL_RUN_CMD="/a $TARGET$ && /b $TARGET$ && /c"\n', {
    '/b': { ok: false, reason: 'exited with status 2' },
  });
  const outcome = await responder.respond({ ...request, protocol: 'udp', mode: 'udp' });
  assert.equal(outcome.ok, false);
  assert.deepEqual(ran, [
    ['/a', '192.0.2.7'],
    ['/b', '192.0.2.7'],
  ]);
});

test('BLOCK=0 only says it ignores the response; BLOCK=2 runs only the command', async () => {
  const zero = await setup('BLOCK_TCP="0"\n');
  assert.equal((await zero.responder.respond(request)).ok, true);
  assert.deepEqual(zero.lines, ['attackalert: Ignoring TCP response per configuration file setting.']);
  assert.deepEqual(zero.ran, []);
  const two = await setup('BLOCK_TCP="2"\nKILL_RUN_CMD="/notify $TARGET$"\n');
  await two.responder.respond(request);
  assert.deepEqual(two.ran, [['/notify', '192.0.2.7']]);
  assert.equal(two.lines.length, 1);
});

test('an unwritable hosts.deny fails the response with 1.2 lines', async () => {
  const { responder, lines } = await setup(
    `BLOCK_TCP="1"\nKILL_ROUTE=""\nHOSTS_DENY_FILE="/nonexistent-dir/hosts.deny"\n`,
  );
  const outcome = await responder.respond(request);
  assert.equal(outcome.ok, false);
  assert.equal(
    lines[0],
    'adminalert: cannot open hosts.deny file: /nonexistent-dir/hosts.deny for blocking.',
  );
  assert.equal(lines[1], 'securityalert: ERROR: There was an error trying to block host 192.0.2.7');
  assert.equal(lines.at(-1), 'attackalert: ERROR: Could not block host 192.0.2.7 !!');
});

// --- the nftables backend, lift and reapply -----------------------------------------------------

function fakeNft(failBlock = false) {
  const calls: string[] = [];
  return {
    calls,
    table: 'portsnare',
    block(bans: { address: string; timeoutSeconds?: number }[]) {
      calls.push(`block ${bans.map((b) => `${b.address}/${b.timeoutSeconds ?? 0}`).join(' ')}`);
      return failBlock
        ? Promise.reject(new Error('nft -f -: exit 1: Error: No such file'))
        : Promise.resolve();
    },
    unblock(addresses: string[]) {
      calls.push(`unblock ${addresses.join(' ')}`);
      return Promise.resolve();
    },
  };
}

async function setupWithNft(conf: string, classic: boolean, failBlock = false) {
  const dir = await mkdtemp(join(tmpdir(), 'psn-responder-'));
  const hostsDeny = join(dir, 'hosts.deny');
  const loaded = settingsFromConf(parseConfText('/t.conf', `HOSTS_DENY_FILE="${hostsDeny}"\n${conf}`));
  assert.deepEqual(loaded.diagnostics, []);
  const lines: string[] = [];
  const ran: string[][] = [];
  const nft = fakeNft(failBlock);
  const responder = new ClassicResponder({
    settings: (): Settings => loaded.settings,
    log: { log: (m: LogMessage) => lines.push(formatMessage(m)), close: () => undefined },
    run: (argv) => {
      ran.push([...argv]);
      return Promise.resolve({ ok: true });
    },
    addHostsDenyLine,
    addHostsDenyLines,
    removeHostsDenyLines,
    nft,
    classic,
  });
  return { responder, lines, ran, hostsDeny, nft };
}

const ROUTE_CONF =
  'BLOCK_TCP="1"\nKILL_ROUTE="/usr/sbin/ip route add blackhole $TARGET$"\nKILL_RUN_CMD="/usr/local/bin/notify $TARGET$"\n';

test('BLOCK_BACKEND=nft: the set element replaces hosts.deny and the route; KILL_RUN_CMD still runs', async () => {
  const { responder, lines, ran, nft, hostsDeny } = await setupWithNft(ROUTE_CONF, false);
  const outcome = await responder.respond({ ...request, timeoutSeconds: 3600 });
  assert.equal(outcome.ok, true);
  assert.deepEqual(
    outcome.actions.map((a) => a.key),
    ['NFT', 'KILL_RUN_CMD'],
  );
  assert.deepEqual(nft.calls, ['block 192.0.2.7/3600']);
  assert.deepEqual(ran, [['/usr/local/bin/notify', '192.0.2.7']]);
  assert.deepEqual(lines, [
    'attackalert: Host 192.0.2.7 has been blocked via nftables set: inet portsnare blocked4 for 3600 s',
    'attackalert: External command run for host: 192.0.2.7 using command: "/usr/local/bin/notify 192.0.2.7"',
  ]);
  assert.equal(await readFile(hostsDeny, 'utf8').catch(() => ''), '');
});

test('BLOCK_BACKEND=both: nft first, then 1.2 order; a failing nft makes the response fail', async () => {
  const both = await setupWithNft(ROUTE_CONF, true);
  const outcome = await both.responder.respond({ ...request, address: '2001:db8::7', host: '2001:db8::7' });
  assert.deepEqual(
    outcome.actions.map((a) => a.key),
    ['NFT', 'KILL_HOSTS_DENY', 'KILL_ROUTE', 'KILL_RUN_CMD'],
  );
  assert.equal(
    both.lines[0],
    'attackalert: Host 2001:db8::7 has been blocked via nftables set: inet portsnare blocked6 until unblocked',
  );
  const failing = await setupWithNft(ROUTE_CONF, false, true);
  const failed = await failing.responder.respond(request);
  assert.equal(failed.ok, false);
  assert.ok(
    failing.lines.includes(
      'adminalert: ERROR: NFT for host 192.0.2.7 failed: nft -f -: exit 1: Error: No such file',
    ),
  );
  assert.ok(failing.lines.includes('attackalert: ERROR: Could not block host 192.0.2.7 !!'));
});

test('a manual block uses the blocking backends only, never KILL_RUN_CMD, and never logs 1.2 failure lines', async () => {
  const { responder, ran } = await setupWithNft(ROUTE_CONF, true);
  const outcome = await responder.respond({ ...request, mode: 'manual', port: 0 });
  assert.deepEqual(
    outcome.actions.map((a) => a.key),
    ['NFT', 'KILL_HOSTS_DENY', 'KILL_ROUTE'],
  );
  assert.deepEqual(ran, [['/usr/sbin/ip', 'route', 'add', 'blackhole', '192.0.2.7']]);
});

test('lift undoes each backend (batched), with UNKILL_ROUTE derived from KILL_ROUTE; failures are logged', async () => {
  const { responder, lines, ran, nft, hostsDeny } = await setupWithNft(ROUTE_CONF, true);
  await responder.respond(request);
  await responder.respond({ ...request, address: '192.0.2.8', host: '192.0.2.8' });
  ran.length = 0;
  nft.calls.length = 0;
  lines.length = 0;
  const undone = await responder.lift([
    { address: '192.0.2.7', backends: ['nft', 'hosts.deny', 'route'], port: 143, mode: 'tcp' },
    { address: '192.0.2.8', backends: ['nft', 'hosts.deny', 'route', 'cmd'], port: 143, mode: 'tcp' },
  ]);
  assert.deepEqual(nft.calls, ['unblock 192.0.2.7 192.0.2.8']);
  assert.deepEqual(ran, [
    ['/usr/sbin/ip', 'route', 'del', 'blackhole', '192.0.2.7'],
    ['/usr/sbin/ip', 'route', 'del', 'blackhole', '192.0.2.8'],
  ]);
  assert.equal(await readFile(hostsDeny, 'utf8'), '');
  assert.deepEqual(undone.get('192.0.2.8'), ['nft', 'hosts.deny', 'route']);
  assert.deepEqual(lines, []);

  // No UNKILL_ROUTE and none derivable: said, per host.
  const custom = await setupWithNft('BLOCK_TCP="1"\nKILL_ROUTE="/usr/local/bin/drop $TARGET$"\n', true);
  const result = await custom.responder.lift([
    { address: '192.0.2.9', backends: ['route'], port: 1, mode: 'tcp' },
  ]);
  assert.deepEqual(result.get('192.0.2.9'), []);
  assert.deepEqual(custom.lines, [
    'adminalert: ERROR: could not unblock host 192.0.2.9 from KILL_ROUTE: UNKILL_ROUTE is empty; remove the route by hand',
  ]);
});

test('reapply after a restart: nft with time left, hosts.deny without duplicates, routes only after a reboot', async () => {
  const { responder, ran, nft, hostsDeny } = await setupWithNft(ROUTE_CONF, true);
  await responder.respond(request); // hosts.deny already holds 192.0.2.7's line
  ran.length = 0;
  nft.calls.length = 0;
  const bans: ReapplyTarget[] = [
    {
      address: '192.0.2.7',
      backends: ['nft', 'hosts.deny', 'route'],
      port: 1,
      mode: 'tcp',
      secondsLeft: null,
    },
    { address: '192.0.2.8', backends: ['nft', 'hosts.deny'], port: 1, mode: 'tcp', secondsLeft: 42 },
  ];
  assert.equal(await responder.reapply(bans, false), 0);
  assert.deepEqual(nft.calls, ['block 192.0.2.7/0 192.0.2.8/42']);
  assert.deepEqual(ran, []);
  assert.equal(await readFile(hostsDeny, 'utf8'), 'ALL: 192.0.2.7 : DENY\nALL: 192.0.2.8 : DENY\n');
  assert.equal(await responder.reapply(bans, true), 0);
  assert.deepEqual(ran, [['/usr/sbin/ip', 'route', 'add', 'blackhole', '192.0.2.7']]);
  assert.equal(await readFile(hostsDeny, 'utf8'), 'ALL: 192.0.2.7 : DENY\nALL: 192.0.2.8 : DENY\n');
});

test('reapply of responses a crash cut off: UNKILL_ROUTE first, then KILL_ROUTE, so the route exists once', async () => {
  const { responder, ran } = await setupWithNft(ROUTE_CONF, true);
  const bans: ReapplyTarget[] = [
    { address: '192.0.2.9', backends: ['route'], port: 1, mode: 'tcp', secondsLeft: null },
  ];
  assert.equal(await responder.reapply(bans, true, true), 0);
  assert.deepEqual(ran, [
    ['/usr/sbin/ip', 'route', 'del', 'blackhole', '192.0.2.9'],
    ['/usr/sbin/ip', 'route', 'add', 'blackhole', '192.0.2.9'],
  ]);
});

test('describe: the four backends in order, which are in use, and what each does', async () => {
  const { responder } = await setup('KILL_ROUTE="/usr/sbin/ip route add blackhole $TARGET$"\n');
  const described = responder.describe();
  assert.deepEqual(
    described.map((d) => [d.name, d.inUse]),
    [
      ['nft', false],
      ['hosts.deny', true],
      ['route', true],
      ['cmd', false],
    ],
  );
  assert.equal(described[2]?.text, 'KILL_ROUTE: /usr/sbin/ip route add blackhole $TARGET$');
});

test('a manual block says "blocked on request" first and only when it worked; a failed one claims no block', async () => {
  const announce = { kind: 'manualBlock', address: '192.0.2.7', seconds: null } as const;
  const manual = { ...request, mode: 'manual' as const, port: 0 };
  const good = await setupWithNft(ROUTE_CONF, true);
  assert.equal((await good.responder.respond(manual, { announce })).ok, true);
  assert.deepEqual(
    good.lines.map((l) => l.split(' via')[0]),
    [
      'attackalert: Host 192.0.2.7 blocked on request until unblocked',
      'attackalert: Host 192.0.2.7 has been blocked',
      'attackalert: Host 192.0.2.7 has been blocked',
      'attackalert: Host 192.0.2.7 has been blocked',
    ],
  );
  const bad = await setupWithNft(ROUTE_CONF, true, true);
  assert.equal((await bad.responder.respond(manual, { announce })).ok, false);
  assert.deepEqual(bad.lines, [
    'adminalert: ERROR: There was an error trying to block host (exec fail) 192.0.2.7',
    'adminalert: ERROR: NFT for host 192.0.2.7 failed: nft -f -: exit 1: Error: No such file',
  ]);
});
