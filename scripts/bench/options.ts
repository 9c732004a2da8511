// The benchmark's options, from the command line (`npm run bench -- --packets 1000000`) or from
// BENCH_* environment variables (the command line wins). Measures nothing; validates and documents.
import { parseArgs } from 'node:util';

export const BLOCK_BACKENDS = ['classic', 'nft', 'both'] as const;
export type BlockBackend = (typeof BLOCK_BACKENDS)[number];

export interface BenchOptions {
  /** Part 1: packets in the synthetic capture. */
  packets: number;
  /** Part 1: timed passes over the capture per measurement (best and median reported). */
  runs: number;
  /** Part 1: fuzz iterations of the decoder (0 skips the fuzz loop). */
  fuzz: number;
  /** Seed of the capture generator and of the fuzz loop. */
  seed: number;
  /** Part 2: iterations per scan type and load. */
  iterations: number;
  /** Part 2: offered rates of the spoofed flood, packets/s (empty: no flood runs). */
  floodRates: number[];
  /** Part 2b: rates of the 1,000,000-source flood against MAX_TRACKED_SOURCES=1000000 (empty: none). */
  scaleRates: number[];
  /** Part 2: repeat the highest rate from 32,768 sources (fewer than the detector's table holds). */
  contrast: boolean;
  /** Part 2: how long each flood lasts, seconds; null: long enough for the iterations (10-20 s). */
  floodSeconds: number | null;
  /**
   * Part 2: the daemon's BLOCK_BACKEND, and so the log line that counts as the block: nftables set,
   * dropped route (KILL_ROUTE), or the later of the two.
   */
  blockBackend: BlockBackend;
  replay: boolean;
  live: boolean;
  /** Part 3: ban store and nftables (add, restart restore), detector memory with many sources. */
  bans: boolean;
}

export const USAGE = `usage: npm run bench -- [options]

  --replay-only          Part 1 only (decode/detect throughput, decoder fuzz); needs no root
  --live-only            Part 2 only (first probe to block, in network namespaces); needs root
  --bans-only            Part 3 only (ban store and nftables: adds, restart restore of 1,000,000
                         bans; detector memory with 2,000,000 sources); nftables figures need root
  --packets N            packets in the synthetic capture (default 3000000; env BENCH_PACKETS)
  --runs N               timed passes per replay figure, no new one after 20 s (default 3;
                         env BENCH_RUNS)
  --fuzz N               decoder fuzz iterations, 0 to skip (default 3000000; env BENCH_FUZZ)
  --seed N               generator and fuzz seed (default 1; env BENCH_SEED)
  --iterations N         live iterations per scan type and load (default 30; env BENCH_ITERATIONS)
  --flood-rates LIST     flood rates in packets/s, comma-separated, "none" for no flood
                         (default 10000,50000; env BENCH_FLOOD_RATES)
  --flood-seconds N      length of each flood, at most 60 (default: long enough for the iterations
                         at 1.5x the idle pace, 10-20 s; env BENCH_FLOOD_SECONDS)
  --scale-rates LIST     Part 2b: rates of the flood of 1,000,000 sources against
                         MAX_TRACKED_SOURCES=1000000, "none" to skip (default 100000,200000;
                         env BENCH_SCALE_RATES)
  --no-contrast          no extra flood at the highest rate from 32,768 sources (env BENCH_CONTRAST=0)
  --block-backend B      the daemon's BLOCK_BACKEND in Part 2: classic (KILL_ROUTE = ip route add
                         blackhole; block = its "blocked via dropped route" line), nft (block = the
                         "blocked via nftables set" line) or both (block = the later of the two lines)
                         (default classic, as in earlier reports; env BENCH_BLOCK_BACKEND)
  --no-bans              leave Part 3 out of the full run (env BENCH_BANS=0)
  --help                 this text
`;

export class UsageError extends Error {}

function count(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined || text === '') return fallback;
  const cleaned = text.replace(/[_,]/g, '');
  if (!/^\d+$/.test(cleaned)) throw new UsageError(`${name}: "${text}" is not a whole number`);
  const n = Number(cleaned);
  if (n < min || n > max) throw new UsageError(`${name}: ${n} is outside ${min}-${max}`);
  return n;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'replay-only': { type: 'boolean' },
        'live-only': { type: 'boolean' },
        'bans-only': { type: 'boolean' },
        packets: { type: 'string' },
        runs: { type: 'string' },
        fuzz: { type: 'string' },
        seed: { type: 'string' },
        iterations: { type: 'string' },
        'flood-rates': { type: 'string' },
        'flood-seconds': { type: 'string' },
        'scale-rates': { type: 'string' },
        'no-contrast': { type: 'boolean' },
        'block-backend': { type: 'string' },
        'no-bans': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const only = (['replay-only', 'live-only', 'bans-only'] as const).filter((name) => v[name]);
  if (only.length > 1) throw new UsageError(`--${only.join(' and --')} exclude each other`);
  if (v['bans-only'] && v['no-bans']) throw new UsageError('--bans-only and --no-bans exclude each other');
  const ratesText = v['flood-rates'] ?? env['BENCH_FLOOD_RATES'] ?? '10000,50000';
  const floodRates =
    ratesText.trim() === 'none' || ratesText.trim() === ''
      ? []
      : ratesText.split(',').map((r) => count('--flood-rates', r.trim(), 0, 100, 200_000));
  const scaleText = v['scale-rates'] ?? env['BENCH_SCALE_RATES'] ?? '100000,200000';
  const scaleRates =
    scaleText.trim() === 'none' || scaleText.trim() === ''
      ? []
      : scaleText.split(',').map((r) => count('--scale-rates', r.trim(), 0, 1000, 200_000));
  const backendText = (v['block-backend'] ?? env['BENCH_BLOCK_BACKEND'] ?? '').trim() || 'classic';
  const blockBackend = BLOCK_BACKENDS.find((name) => name === backendText);
  if (blockBackend === undefined)
    throw new UsageError(`--block-backend: "${backendText}" is not one of ${BLOCK_BACKENDS.join(', ')}`);
  return {
    packets: count('--packets', v.packets ?? env['BENCH_PACKETS'], 3_000_000, 1000, 50_000_000),
    runs: count('--runs', v.runs ?? env['BENCH_RUNS'], 3, 1, 100),
    fuzz: count('--fuzz', v.fuzz ?? env['BENCH_FUZZ'], 3_000_000, 0, 1_000_000_000),
    seed: count('--seed', v.seed ?? env['BENCH_SEED'], 1, 0, 2 ** 32 - 1),
    iterations: count('--iterations', v.iterations ?? env['BENCH_ITERATIONS'], 30, 1, 1000),
    floodRates,
    scaleRates,
    floodSeconds: (() => {
      const text = v['flood-seconds'] ?? env['BENCH_FLOOD_SECONDS'];
      return text === undefined || text === '' ? null : count('--flood-seconds', text, 10, 1, 60);
    })(),
    contrast: !v['no-contrast'] && env['BENCH_CONTRAST'] !== '0',
    blockBackend,
    replay: only.length === 0 || only[0] === 'replay-only',
    live: only.length === 0 || only[0] === 'live-only',
    bans: only[0] === 'bans-only' || (only.length === 0 && !v['no-bans'] && env['BENCH_BANS'] !== '0'),
  };
}
