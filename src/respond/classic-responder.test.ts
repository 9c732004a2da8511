import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfText } from '../config/conf-file.ts';
import { settingsFromConf, type Settings } from '../config/settings.ts';
import type { AlertLog } from '../report/alert-log.ts';
import { formatMessage, type LogMessage } from '../report/messages.ts';
import { ClassicResponder } from './classic-responder.ts';
import type { CommandResult } from './exec.ts';
import { addHostsDenyLine } from './hosts-deny.ts';

async function setup(conf: string, results: Record<string, CommandResult> = {}) {
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
      return Promise.resolve(results[argv[0] ?? ''] ?? { ok: true });
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
