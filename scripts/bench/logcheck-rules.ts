// Matching speed of the logcheck rule engine (src/logcheck/rules, classify) with the installed
// Debian rule tree: prints figures, never a pass/fail test.
//
//   node --import tsx scripts/bench/logcheck-rules.ts [REPEAT] [RULEDIR]
//
// Input: the two fixture samples (logcheck-fixtures/input, 458 lines, ~60 % not ignored at level
// server: the slow case, every rule is tried) repeated REPEAT times (default 1000: 458,000 lines,
// 50 MB). Figures: load + compile time of the level-server tree; lines/s of the System Events
// filter alone (ignore.d.server + paranoid, cracking.d, violations.d merged: ~1,550 rules); lines/s
// and MB/s of the whole classify(). The real logcheck took 88 s for 235 MB at level server on this
// kind of machine (logcheck.md §1.12), i.e. 2.7 MB/s.
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { classify } from '../../src/logcheck/classify.ts';
import { compileRules, loadRuleTree } from '../../src/logcheck/rules.ts';

const repeat = Number(process.argv[2] ?? 1000);
const ruleDir = process.argv[3] ?? '/etc/logcheck';
const FIX = fileURLToPath(new URL('../../test/fixtures/logcheck/input', import.meta.url));

const base = ['sample.log', 'sample-rfc3339.log'].flatMap((f) =>
  readFileSync(`${FIX}/${f}`, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.trimEnd()),
);
const lines: string[] = [];
for (let i = 0; i < repeat; i++) lines.push(...base);
const megabytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0) / 1e6;

let t = performance.now();
const tree = loadRuleTree({ ruleDir, level: 'server' });
const systemFilter = compileRules(
  [...tree.ignore.files, ...tree.cracking.files, ...tree.violations.files].flatMap((f) => f.rules),
);
systemFilter.test(base[0] ?? '');
const loadMs = performance.now() - t;
const ruleCount = [tree.ignore, tree.cracking, tree.violations, tree.violationsIgnore]
  .flatMap((d) => d.files)
  .reduce((n, f) => n + f.rules.length, 0);

// Warm-up (V8 tiers regexps up after first use), then the measured passes.
for (const l of base) systemFilter.test(l);
classify(base, tree);

// Best of RUNS (other processes share the CPUs) and the first run (a batch job runs once).
const RUNS = 5;
let kept = 0;
const filterRuns: number[] = [];
for (let r = 0; r < RUNS; r++) {
  t = performance.now();
  kept = 0;
  for (const l of lines) if (!systemFilter.test(l)) kept++;
  filterRuns.push((performance.now() - t) / 1000);
}
const classifyRuns: number[] = [];
let result = classify(base, tree);
for (let r = 0; r < RUNS; r++) {
  t = performance.now();
  result = classify(lines, tree);
  classifyRuns.push((performance.now() - t) / 1000);
}
const filterS = Math.min(...filterRuns);
const classifyS = Math.min(...classifyRuns);
const firstS = classifyRuns[0] ?? classifyS;

const rate = (n: number, s: number): string => Math.round(n / s).toLocaleString('en-US');
console.log(`node ${process.version}, rule dir ${ruleDir}, level server, ${ruleCount} rules`);
console.log(`load + compile: ${loadMs.toFixed(0)} ms`);
console.log(`input: ${lines.length.toLocaleString('en-US')} lines, ${megabytes.toFixed(1)} MB`);
console.log(
  `System Events filter (best of ${RUNS}): ${filterS.toFixed(2)} s, ${rate(lines.length, filterS)} lines/s (${kept} kept)`,
);
console.log(
  `classify() (best of ${RUNS}): ${classifyS.toFixed(2)} s, ${rate(lines.length, classifyS)} lines/s, ${(megabytes / classifyS).toFixed(1)} MB/s ` +
    `(${result.alerts.length} alert, ${result.events.length} event sections, ${result.system.length} system lines)`,
);
console.log(`classify() first run: ${firstS.toFixed(2)} s, ${(megabytes / firstS).toFixed(1)} MB/s`);
console.log(
  `vs logcheck 1.4.2 at 2.67 MB/s: ${(megabytes / classifyS / 2.67).toFixed(1)}x (best), ${(megabytes / firstS / 2.67).toFixed(1)}x (first run)`,
);
