import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackgroundState } from '../detect/sequential-test.ts';
import { formatMessage } from '../report/messages.ts';
import { ForgeryWatch } from './forgery-watch.ts';

const state = (threshold: number): BackgroundState => ({
  ratePerSecond: 1.5,
  threshold,
  candidatesPerMinute: 0,
  observationsPerMinute: 5e6,
  probesPerSecond: 2e5,
  sourcesPerSecond: 165_000,
});

test('a flood that raised the bar is said once per interval, with counts', () => {
  const watch = new ForgeryWatch(20);
  const flooding = () => state(17.8);
  const lines: string[] = [];
  for (let t = 0; t <= 120_000; t += 10) {
    const message = watch.probe(t, t === 500, flooding);
    if (message) lines.push(formatMessage(message));
    if (t === 700) watch.capped();
  }
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.equal(
    lines[0],
    'attackalert: Forged packet evidence at scale: 6000 probes to trap ports in the last 60 s from about 165000 source addresses a second (background 1.50 new-port probes/s per source); packet evidence now needs a likelihood ratio of 53757836, 1 probe(s) passed it, 1 host(s) left unbanned by MAX_BLOCKS_PER_MINUTE; handshake evidence keeps its own budget',
  );
  assert.match(lines[1] ?? '', /6000 probes .* 0 probe\(s\) passed it, 0 host\(s\) left unbanned/);
});

test('quiet when the bar is near idle and nothing was capped', () => {
  const watch = new ForgeryWatch(20);
  let said = 0;
  for (let t = 0; t <= 200_000; t += 100) if (watch.probe(t, false, () => state(Math.log(20) + 2))) said++;
  assert.equal(said, 0);
});
