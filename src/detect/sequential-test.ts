/**
 * @module detect/sequential-test
 * The sequential test that decides when forgeable evidence (captured packets) is enough to act on,
 * after TRW (Jung, Paxson, Berger, Balakrishnan, "Fast Portscan Detection Using Sequential
 * Hypothesis Testing", IEEE S&P 2004), with the measured background as the null hypothesis.
 *
 * Model. H0: the source is background: forged packets or stray traffic, whose new-port probes
 * arrive no faster than a Poisson process of rate λ0 per source. λ0 is measured live (below), so
 * it rises when a random-source flood starts and falls when it ends; it never goes below the idle
 * rate `idleRatePerSecond`. Each probe of a source to a port it had not touched yet is one
 * observation: with Δ the time since its previous new-port probe, p = 1 - exp(-λ0 Δ) is the
 * chance, under H0, of a probe coming that soon. p is turned into an e-value with the calibrator
 * e(p) = 1 / (p (1 + ln(1/pMin))) (capped below pMin), whose mean under H0 is at most 1, and the
 * source's score is the e-CUSUM m = max(m, 0) + ln e(p). The test fires when m reaches ln A.
 * Under H0 the average number of observations before a false alarm is at least A (Ville's
 * inequality on the e-process), so A is set from the live observation rate: A = max(idle
 * threshold, observing sources per minute / false alarms allowed per minute), where a source is
 * counted once per epoch (its own burst is judged by its score, not counted as many tests) and one
 * source per epoch is left out (a lone scanner at idle does not raise its own bar). While more
 * sources pass than MAX_BLOCKS_PER_MINUTE allows (forgers imitating scanners), the bar rises by
 * ln(passing in the last minute / budget), so the strongest evidence is the one that passes. A scanner's probes come
 * milliseconds apart whatever the background, so its p stays small and it passes in 3 to 5 probes;
 * a forged source's probes come at the background's pace, so its p is uniform and its score stays
 * near 0.
 *
 * The background estimate is robust to a few heavy sources (a scanner must not raise its own bar):
 * per epoch of `epochMs`, S1 sources were seen and S2 of them more than once; for Poisson sources
 * of rate λ, S2/S1 = 1 - xe^-x/(1-e^-x) with x = λ·epoch, inverted numerically. S1 gets `prior`
 * pseudo-sources that were seen once, so a handful of sources at idle says nothing.
 *
 * Pure: times come in with the probes (packet time), nothing is allocated per probe.
 */

export interface SequentialSettings {
  /** False alarms the test allows per minute under the background (the goal is below 1). */
  falseAlarmsPerMinute: number;
  /** λ0 at idle: new-port probes per second that a background source may send. */
  idleRatePerSecond: number;
  /** A at idle, as a likelihood ratio (ln of it is the score threshold). */
  idleThreshold: number;
  /**
   * Sources per minute that may pass (MAX_BLOCKS_PER_MINUTE; 0: no cap). When more pass the bar,
   * the bar rises by ln(passing / budget), so the strongest evidence goes first.
   */
  budgetPerMinute?: number;
}

export const DEFAULT_SEQUENTIAL: SequentialSettings = {
  falseAlarmsPerMinute: 0.1,
  idleRatePerSecond: 1 / 60,
  idleThreshold: 20,
};

/** The calibrator's floor: below it p counts as pMin (ln(1/pMin) = 13.8). */
const P_MIN = 1e-6;
const CALIBRATION = 1 + Math.log(1 / P_MIN);
/** Largest ln e(p): what one observation can add. */
export const MAX_STEP = Math.log(1 / (P_MIN * CALIBRATION));

/** Epochs of the background estimate, in ms: short, so the bar rises within the first 250 ms. */
const EPOCH_MS = 250;
/** Pseudo-sources seen once, added to S1. */
const PRIOR_SOURCES = 200;
/** x = λ·epoch is capped here: S2/S1 near 1 means "every source repeats", rate unknown but high. */
const MAX_X = 20;
/** The running epoch is looked at every this many probes (a power of two)... */
const LIVE_EVERY = 64;
/** ...as if at least this many ms of it had gone by. */
const LIVE_MIN_MS = 20;
/** Weight of the newest epoch in the smoothed estimates (about 2 s of memory at 250 ms epochs). */
const SMOOTHING = 0.125;

/** ln e(p) for one observation: Δ in ms since the source's previous new-port probe. */
export function evidenceStep(deltaMs: number, ratePerSecond: number): number {
  const p = -Math.expm1((-ratePerSecond * Math.max(0, deltaMs)) / 1000);
  return -Math.log(Math.max(p, P_MIN) * CALIBRATION);
}

/** x with 1 - x e^-x / (1 - e^-x) = fraction (Poisson: share of seen sources seen twice or more). */
export function poissonRepeatRate(fraction: number): number {
  if (!(fraction > 0)) return 0;
  let lo = 0;
  let hi = MAX_X;
  for (let i = 0; i < 40; i++) {
    const x = (lo + hi) / 2;
    const repeat = 1 - x / Math.expm1(x);
    if (repeat < fraction) lo = x;
    else hi = x;
  }
  return (lo + hi) / 2;
}

/** What the background looks like now, for the summary line, `status` and tests. */
export interface BackgroundState {
  /** λ0 in new-port probes per second per source. */
  ratePerSecond: number;
  /** ln A, the score a source needs. */
  threshold: number;
  /** Sources whose score crossed the background's bar in the last minute. */
  candidatesPerMinute: number;
  /** Observations per minute (smoothed). */
  observationsPerMinute: number;
  /** Probes per second at the trap ports (smoothed). */
  probesPerSecond: number;
  /** Distinct sources per second (smoothed). */
  sourcesPerSecond: number;
}

/** The live background: epochs of probes, S1/S2 counts, the rate and the threshold they give. */
export class Background {
  readonly #settings: SequentialSettings;
  #epoch = -1;
  #epochStart = 0;
  #probes = 0;
  #observations = 0;
  #seen = 0;
  #repeated = 0;
  #rate: number;
  #smoothRate: number;
  #obsPerMinute = 0;
  #probesPerSecond = 0;
  #sourcesPerSecond = 0;
  #threshold: number;
  /** Candidates per second of the last minute (a ring), and their sum. */
  readonly #minute = new Uint32Array(60);
  #minuteSecond = -1;
  #candidatesLastMinute = 0;
  #pressure = 0;

  constructor(settings: SequentialSettings = DEFAULT_SEQUENTIAL) {
    this.#settings = settings;
    this.#rate = settings.idleRatePerSecond;
    this.#smoothRate = settings.idleRatePerSecond;
    this.#threshold = Math.log(settings.idleThreshold);
  }

  /** The epoch number for `time`, closing the epochs that ended before it. */
  epochOf(time: number): number {
    const epoch = Math.floor(time / EPOCH_MS);
    if (epoch !== this.#epoch) this.#close(epoch);
    return epoch;
  }

  /**
   * A probe from a source at `time`; `firstInEpoch`/`secondInEpoch`: this is its first/second
   * probe this epoch. Every LIVE_EVERY probes the running epoch is looked at too, so the bar rises
   * within milliseconds of a flood's start rather than at the end of the epoch.
   */
  probe(time: number, firstInEpoch: boolean, secondInEpoch: boolean): void {
    this.#probes++;
    if (firstInEpoch) this.#seen++;
    else if (secondInEpoch) this.#repeated++;
    if ((this.#probes & (LIVE_EVERY - 1)) === 0) this.#live(time);
  }

  /** Raises (never lowers) the rate and the bar from the epoch under way. */
  #live(time: number): void {
    const seconds = Math.max(LIVE_MIN_MS, time - this.#epochStart) / 1000;
    const x = poissonRepeatRate(this.#repeated / (this.#seen + PRIOR_SOURCES));
    this.#rate = Math.max(this.#rate, x / seconds);
    const observations = (Math.max(0, this.#observations - 1) / seconds) * 60;
    this.#threshold = Math.max(this.#threshold, this.#bar(observations));
  }

  #bar(observationsPerMinute: number): number {
    return Math.log(
      Math.max(this.#settings.idleThreshold, observationsPerMinute / this.#settings.falseAlarmsPerMinute),
    );
  }

  /** A source made an observation in this epoch (counted once per source and epoch). */
  observation(): void {
    this.#observations++;
  }

  /** A source's score crossed the base bar (once per source): how contested the budget is. */
  candidate(time: number): void {
    this.#advanceMinute(time);
    this.#minute[this.#minuteSecond % 60]!++;
    this.#candidatesLastMinute++;
    this.#pressure = this.#pressureOf(this.#candidatesLastMinute);
  }

  /** Moves the minute ring to `time`'s second, forgetting the seconds that left it. */
  #advanceMinute(time: number): void {
    const second = Math.floor(time / 1000);
    if (this.#minuteSecond < 0 || second - this.#minuteSecond >= 60) {
      this.#minute.fill(0);
      this.#candidatesLastMinute = 0;
    } else {
      for (let s = this.#minuteSecond + 1; s <= second; s++) {
        this.#candidatesLastMinute -= this.#minute[s % 60]!;
        this.#minute[s % 60] = 0;
      }
    }
    if (second > this.#minuteSecond) this.#minuteSecond = second;
  }

  get rate(): number {
    return this.#rate;
  }

  /** The bar before the budget's pressure: what the background alone asks for. */
  get baseThreshold(): number {
    return this.#threshold;
  }

  /** The bar a source must reach: the background's, raised while the budget is contested. */
  get threshold(): number {
    return this.#threshold + this.#pressure;
  }

  #pressureOf(candidatesPerMinute: number): number {
    const budget = this.#settings.budgetPerMinute ?? 0;
    return budget > 0 ? Math.log(Math.max(1, candidatesPerMinute / budget)) : 0;
  }

  state(): BackgroundState {
    return {
      ratePerSecond: this.#rate,
      threshold: this.#threshold + this.#pressure,
      candidatesPerMinute: this.#candidatesLastMinute,
      observationsPerMinute: this.#obsPerMinute,
      probesPerSecond: this.#probesPerSecond,
      sourcesPerSecond: this.#sourcesPerSecond,
    };
  }

  #close(epoch: number): void {
    if (this.#epoch >= 0) {
      // Epochs with no probe at all in between count as empty: the estimates decay through them.
      const gaps = Math.min(64, Math.max(1, epoch - this.#epoch));
      const seconds = EPOCH_MS / 1000;
      const x = poissonRepeatRate(this.#repeated / (this.#seen + PRIOR_SOURCES));
      const epochRate = x / seconds;
      // Less one: the source being judged must not raise its own bar (one scanner at idle).
      const epochObs = (Math.max(0, this.#observations - 1) / seconds) * 60;
      this.#smoothRate = decay(this.#smoothRate, epochRate, gaps);
      this.#obsPerMinute = decay(this.#obsPerMinute, epochObs, gaps);
      this.#probesPerSecond = decay(this.#probesPerSecond, this.#probes / seconds, gaps);
      this.#sourcesPerSecond = decay(this.#sourcesPerSecond, this.#seen / seconds, gaps);
      // Rise at once (the newest epoch), fall smoothly.
      const latestRate = gaps === 1 ? epochRate : 0;
      const latestObs = gaps === 1 ? epochObs : 0;
      this.#rate = Math.max(this.#settings.idleRatePerSecond, latestRate, this.#smoothRate);
      const observations = Math.max(latestObs, this.#obsPerMinute);
      this.#threshold = this.#bar(observations);
      this.#advanceMinute(epoch * EPOCH_MS);
      this.#pressure = this.#pressureOf(this.#candidatesLastMinute);
    }
    this.#epoch = epoch;
    this.#epochStart = epoch * EPOCH_MS;
    this.#probes = 0;
    this.#observations = 0;
    this.#seen = 0;
    this.#repeated = 0;
  }

  get epochStart(): number {
    return this.#epochStart;
  }
}

function decay(smoothed: number, latest: number, epochs: number): number {
  let value = smoothed * (1 - SMOOTHING) + latest * SMOOTHING;
  for (let i = 1; i < epochs; i++) value *= 1 - SMOOTHING;
  return value;
}
