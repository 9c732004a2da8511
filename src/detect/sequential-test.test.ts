import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CidrSet } from '../net/cidr-set.ts';
import { Detector, type TriggerSettings } from './detector.ts';
import { Background, DEFAULT_SEQUENTIAL, evidenceStep, poissonRepeatRate } from './sequential-test.ts';
import { prng as random } from '../../test/builders/fuzz.ts';

const TRAPS = [1, 11, 15, 79, 111, 119, 143, 540, 635, 1080, 1524, 2000, 5742, 6667, 12345];
const SCANNER = '203.0.113.9';
const TRIGGERS: TriggerSettings = {
  scanTrigger: 0,
  stealthPorts: 3,
  stealthWindowMs: 10_000,
  maxTrackedSources: 1_000_000,
  sequential: { ...DEFAULT_SEQUENTIAL, budgetPerMinute: 60 },
};

interface FloodRun {
  forgedAlerts: number;
  /** ms from the scanner's first probe to its alert; -1: never. */
  scannerAfterMs: number;
  detector: Detector;
}

/**
 * The flood of issue 10: SYNs from random sources of 198.18.0.0/15 to random ones of 15 trap
 * ports at `pps`, in packet time; `scanAtMs` into it a scanner sends 5 SYNs to 5 other ports
 * within 1 ms. `burst`: each forged source sends 5 probes in a row (the imitating forger).
 */
function flood(pps: number, seconds: number, opts: { burst?: boolean; scanAtMs?: number } = {}): FloodRun {
  const detector = new Detector({ ignore: new CidrSet(), own: new CidrSet() }, TRIGGERS);
  const r = random(pps);
  const forged = new Set<string>();
  const t0 = 1_700_000_000_000;
  const scanAt = t0 + (opts.scanAtMs ?? 1500);
  let sent = 0;
  let scannerAfterMs = -1;
  let source = '';
  for (let i = 0; i < pps * seconds; i++) {
    const time = t0 + (i * 1000) / pps;
    if (!opts.burst || i % 5 === 0)
      source = `198.${18 + Math.floor(r() * 2)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
    const port = TRAPS[Math.floor(r() * TRAPS.length)] ?? 1;
    const v = detector.judge({ mode: 'stcp', protocol: 'tcp', evidence: 'packet', source, port, time });
    if (v.kind === 'alert') forged.add(source);
    if (time >= scanAt && sent < 5) {
      const at = scanAt + sent * 0.25;
      const port = 20_000 + sent++;
      const verdict = detector.judge({
        mode: 'stcp',
        protocol: 'tcp',
        evidence: 'packet',
        source: SCANNER,
        port,
        time: at,
      });
      if (verdict.kind === 'alert' && scannerAfterMs < 0) scannerAfterMs = at - scanAt;
    }
  }
  return { forgedAlerts: forged.size, scannerAfterMs, detector };
}

test('the calibrator is an e-value: its mean under the background is at most 1', () => {
  for (const rate of [1 / 60, 1, 50]) {
    // E[e(p(Δ))] for Δ ~ Exp(rate), by the midpoint rule over the quantiles of Δ.
    const n = 200_000;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const u = (k + 0.5) / n;
      const deltaMs = (-Math.log(1 - u) / rate) * 1000;
      sum += Math.exp(evidenceStep(deltaMs, rate));
    }
    assert.ok(sum / n <= 1.0001, `mean ${sum / n} at rate ${rate}`);
  }
});

test('the background estimate inverts the Poisson share of repeating sources', () => {
  for (const x of [0.01, 0.3, 1, 4]) {
    const share = 1 - x / Math.expm1(x);
    assert.ok(Math.abs(poissonRepeatRate(share) - x) < 1e-6 * Math.max(1, x));
  }
  assert.equal(poissonRepeatRate(0), 0);
});

test('random-source floods from 1 to 200 kpps ban no forged source, and the scanner within 50 ms', () => {
  for (const [pps, seconds] of [
    [1_000, 20],
    [5_000, 10],
    [50_000, 4],
    [200_000, 2],
  ] as const) {
    const run = flood(pps, seconds, { scanAtMs: seconds * 500 });
    assert.equal(run.forgedAlerts, 0, `${pps} pps: forged sources passed the test`);
    assert.ok(
      run.scannerAfterMs >= 0 && run.scannerAfterMs <= 50,
      `${pps} pps: scanner after ${run.scannerAfterMs} ms`,
    );
    const bg = run.detector.background();
    assert.ok(bg && bg.threshold > Math.log(DEFAULT_SEQUENTIAL.idleThreshold), `${pps} pps: the bar rose`);
  }
});

test('the false-alarm bound holds on generated background: alarms per observation stay below 1/A', () => {
  // Background sources at a known Poisson rate, no scanner: the e-CUSUM's average run length is at
  // least A observations, so over N observations at most about N/A false alarms are expected.
  const background = new Background({ falseAlarmsPerMinute: 1e9, idleRatePerSecond: 2, idleThreshold: 200 });
  const r = random(42);
  let alarms = 0;
  let observations = 0;
  for (let source = 0; source < 2_000; source++) {
    let score = 0;
    for (let k = 0; k < 50; k++) {
      const deltaMs = (-Math.log(1 - r()) / 2) * 1000;
      score = Math.max(score, 0) + evidenceStep(deltaMs, background.rate);
      observations++;
      if (score >= background.threshold) {
        alarms++;
        score = 0;
      }
    }
  }
  assert.ok(alarms <= observations / 200, `${alarms} alarms in ${observations} observations`);
});

test('at idle, a scan at nmap default and at -T2 timing is alerted at its third port', () => {
  for (const gapMs of [1, 400]) {
    const detector = new Detector({ ignore: new CidrSet(), own: new CidrSet() }, TRIGGERS);
    const kinds = [0, 1, 2].map(
      (k) =>
        detector.judge({
          mode: 'stcp',
          protocol: 'tcp',
          evidence: 'packet',
          source: SCANNER,
          port: 100 + k,
          time: 5_000 + k * gapMs,
        }).kind,
    );
    assert.deepEqual(kinds, ['below-trigger', 'below-trigger', 'alert'], `gap ${gapMs} ms`);
  }
});

test('the bar falls back to idle once a flood has ended', () => {
  const run = flood(50_000, 2);
  const raised = run.detector.background()?.threshold ?? 0;
  // 60 s of quiet (one probe a second from one host keeps the clock going).
  const t0 = 1_700_000_000_000 + 2_000;
  for (let s = 1; s <= 60; s++) {
    run.detector.judge({
      mode: 'stcp',
      protocol: 'tcp',
      evidence: 'packet',
      source: '192.0.2.77',
      port: 1,
      time: t0 + s * 1000,
    });
  }
  const after = run.detector.background()?.threshold ?? Infinity;
  assert.ok(raised > 15 && after < raised - 5, `bar ${raised} during, ${after} after`);
  assert.ok(Math.abs(after - Math.log(DEFAULT_SEQUENTIAL.idleThreshold)) < 0.5, `bar ${after} after`);
});

test('forgers imitating scanners: the bar rises with the contested budget, strongest evidence first', () => {
  const run = flood(10_000, 3, { burst: true });
  const bg = run.detector.background();
  assert.ok(bg && bg.candidatesPerMinute > 60, 'many forged bursts crossed the background bar');
  // A scanner that goes on probing (nmap's 1000 ports) out-scores 5-port bursts and still passes.
  let alertAt = -1;
  const t0 = 1_700_000_000_000 + 2_990;
  for (let k = 0; k < 100 && alertAt < 0; k++) {
    const v = run.detector.judge({
      mode: 'stcp',
      protocol: 'tcp',
      evidence: 'packet',
      source: '203.0.113.10',
      port: 30_000 + k,
      time: t0 + k * 0.2,
    });
    if (v.kind === 'alert') alertAt = k + 1;
  }
  assert.ok(alertAt > 5 && alertAt <= 30, `long scan alerted at probe ${alertAt}`);
});
