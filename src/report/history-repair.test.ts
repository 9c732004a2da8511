import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatHistoryLine } from './history.ts';
import { bansWithoutHistoryLine, recentHistory, repairedHistoryLine } from './history-repair.ts';
import type { LogMessage } from './messages.ts';
import { HistoryFileSink } from './sinks/history-file-sink.ts';

process.env.TZ = 'UTC';

const T = 1795396579_000;
const ban = (address: string, since: number, mode = 'stcp', origin = 'detection', ports = [1, 11, 143]) => ({
  address,
  since,
  ports,
  mode,
  origin,
});
const line = (address: string, at: number, port = 143) =>
  formatHistoryLine({ time: new Date(at), host: address, address, port, protocol: 'tcp' });

test("a cut-off ban's history line is 1.2's, with the ban's start, its address as host and the port that fired", () => {
  assert.equal(
    repairedHistoryLine(ban('10.231.0.2', T)),
    '1795396579 - 11/23/2026 01:16:19 Host: 10.231.0.2/10.231.0.2 Port: 143 TCP Blocked',
  );
  assert.equal(
    repairedHistoryLine(ban('10.231.0.3', T, 'udp', 'detection', [9])),
    '1795396579 - 11/23/2026 01:16:19 Host: 10.231.0.3/10.231.0.3 Port: 9 UDP Blocked',
  );
});

test("which cut-off bans lack their line: the address's line from around the ban's start counts, an old one does not; manual bans have none", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-repair-'));
  const path = join(dir, 'history');
  assert.deepEqual(await bansWithoutHistoryLine(path, [ban('192.0.2.1', T)]), [ban('192.0.2.1', T)]);
  await writeFile(
    path,
    [
      line('192.0.2.2', T - 3600_000), // an earlier ban of the same host
      line('192.0.2.1', T - 400), // written (the probe came just before the ban)
      line('192.0.2.3', T + 1000),
      '',
    ].join('\n'),
  );
  const bans = [
    ban('192.0.2.1', T),
    ban('192.0.2.2', T),
    ban('192.0.2.3', T),
    ban('192.0.2.4', T + 5000),
    ban('192.0.2.5', T, 'manual', 'manual', []),
  ];
  assert.deepEqual(
    (await bansWithoutHistoryLine(path, bans)).map((b) => b.address),
    ['192.0.2.2', '192.0.2.4'],
  );
});

test('the tail is read back in chunks only as far as the oldest cut-off ban, lines across chunks whole', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-repair-'));
  const path = join(dir, 'history');
  const lines: string[] = [];
  for (let i = 0; i < 30_000; i++) lines.push(line(`198.51.${i >> 8}.${i & 255}`, T + i * 1000));
  await writeFile(path, `${lines.join('\n')}\n`);
  const all = await recentHistory(path, 0);
  assert.equal(all.size, 30_000);
  assert.deepEqual(all.get('198.51.0.0'), [Math.floor(T / 1000)]);
  const recent = await recentHistory(path, Math.floor(T / 1000) + 29_990);
  assert.ok(recent.has('198.51.117.47') && recent.size < 30_000, `${recent.size}`);
});

test('the history sink writes the missing lines once, in order, and says so', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-repair-'));
  const path = join(dir, 'history');
  await writeFile(path, `${line('192.0.2.1', T)}\n`);
  const said: LogMessage[] = [];
  const sink = new HistoryFileSink(path, { log: (m) => said.push(m), close: () => undefined });
  const bans = [ban('192.0.2.3', T + 2000), ban('192.0.2.1', T), ban('192.0.2.2', T + 1000)];
  assert.equal(await sink.repair(bans), 2);
  assert.equal(await sink.repair(bans), 0, 'never a line twice');
  assert.deepEqual((await readFile(path, 'utf8')).split('\n'), [
    line('192.0.2.1', T),
    repairedHistoryLine(bans[2]!),
    repairedHistoryLine(bans[0]!),
    '',
  ]);
  assert.deepEqual(said, [{ kind: 'historyRepaired', count: 2, path }]);
});
