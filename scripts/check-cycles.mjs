// Import-graph check behind `npm test`: reads every src/**/*.ts, follows its relative imports and
// re-exports (`import`, `import type`, `export ... from`, `export type ... from`, `import './x.ts'`;
// not dynamic `import()`), and fails (exit 1) when the graph has a cycle, printing each one as
// `src/a.ts -> src/b.ts -> src/a.ts`, or an import that points the wrong way between the
// top-level folders of src/ (see LAYERS below).
//
//   node scripts/check-cycles.mjs [ROOT]
//
// ROOT (default: the repository) is the directory holding src/; the unit test runs it on temp trees.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { listTs } from './lib/ts-files.mjs';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
const srcDir = join(root, 'src');
/** Enough to show what is wrong; a graph with more cycles than this in one knot says "and more". */
const MAX_CYCLES_PER_KNOT = 50;

/**
 * What each top-level folder of src/ may import besides itself and the shared root modules (files
 * directly in src/). Folders not listed (daemon/, cli/: the top, which may import anything) are not
 * checked. An import against these fails like a cycle.
 */
const LAYERS = {
  net: [],
  packets: ['net'],
  config: ['net', 'detect'],
  detect: ['net', 'packets'],
  report: ['net', 'detect', 'config'],
  sensors: ['net', 'packets', 'detect', 'config', 'report'],
  state: ['net', 'detect', 'config'],
  respond: ['net', 'detect', 'config', 'report', 'state'],
  control: ['net', 'config'],
  decide: ['net', 'detect', 'config', 'report', 'respond', 'state'],
  logcheck: ['state'],
  mail: [],
  digest: ['net', 'detect', 'config', 'report', 'state', 'logcheck', 'mail'],
};

/** The source with comments and template-literal text blanked, so only real statements match. */
function blankComments(text) {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '`') {
      let j = i + 1;
      while (j < n && text[j] !== '`') j += text[j] === '\\' ? 2 : 1;
      out += '`' + text.slice(i + 1, j).replace(/[^\n]/g, ' ') + '`';
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const FROM = /(?:^|[;}\n])\s*(?:import|export)\s[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/g;
const BARE = /(?:^|[;}\n])\s*import\s*(['"])([^'"\n]+)\1/g;

/** Relative module specifiers a file imports or re-exports from. */
function specifiers(text) {
  const code = blankComments(text);
  const found = [];
  for (const re of [FROM, BARE]) {
    for (const m of code.matchAll(re)) found.push(m[2]);
  }
  return found.filter((s) => s.startsWith('./') || s.startsWith('../'));
}

function resolveSpecifier(from, spec) {
  const base = resolve(dirname(from), spec);
  const candidates = [
    base,
    base.replace(/\.(m?js)$/, (_, ext) => (ext === 'mjs' ? '.mts' : '.ts')),
    `${base}.ts`,
  ];
  candidates.push(join(base, 'index.ts'));
  return candidates.find((p) => existsSync(p) && statSync(p).isFile()) ?? null;
}

const rel = (p) => relative(root, p).split(sep).join('/');

const files = listTs(srcDir);
const graph = new Map();
const unresolved = [];
for (const file of files) {
  const edges = new Set();
  for (const spec of specifiers(readFileSync(file, 'utf8'))) {
    const target = resolveSpecifier(file, spec);
    if (target === null) unresolved.push(`${rel(file)}: cannot resolve '${spec}'`);
    else if (target.startsWith(srcDir + sep)) edges.add(target);
  }
  graph.set(file, [...edges].sort());
}

/** Tarjan's strongly connected components, iteratively (no recursion limit on deep graphs). */
function knots(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const result = [];
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work = [[start, 0]];
    idx.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      const edges = graph.get(v) ?? [];
      if (i < edges.length) {
        frame[1]++;
        const w = edges[i];
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v), idx.get(w)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === idx.get(v)) {
        const component = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        const selfLoop = component.length === 1 && (graph.get(v) ?? []).includes(v);
        if (component.length > 1 || selfLoop) result.push(component.sort());
      }
    }
  }
  return result;
}

/** Every elementary cycle of one knot, each starting at its smallest file (capped). */
function cyclesOf(component) {
  const order = new Map(component.map((f, i) => [f, i]));
  const cycles = [];
  let capped = false;
  for (const start of component) {
    const path = [start];
    const onPath = new Set([start]);
    const walk = (v) => {
      for (const w of graph.get(v) ?? []) {
        if (capped) return;
        if (!order.has(w) || order.get(w) < order.get(start)) continue;
        if (w === start) {
          cycles.push([...path, start]);
          if (cycles.length >= MAX_CYCLES_PER_KNOT) capped = true;
        } else if (!onPath.has(w)) {
          path.push(w);
          onPath.add(w);
          walk(w);
          path.pop();
          onPath.delete(w);
        }
      }
    };
    walk(start);
    if (capped) break;
  }
  return { cycles, capped };
}

for (const line of unresolved) console.error(`check-cycles: warning: ${line}`);

const layerOf = (file) => {
  const parts = relative(srcDir, file).split(sep);
  return parts.length > 1 ? parts[0] : null;
};
const wrongWay = [];
for (const [file, edges] of graph) {
  const from = layerOf(file);
  if (from === null || !(from in LAYERS) || file.endsWith('.test.ts')) continue;
  for (const target of edges) {
    const to = layerOf(target);
    if (to !== null && to !== from && !LAYERS[from].includes(to))
      wrongWay.push(`${rel(file)} -> ${rel(target)}`);
  }
}
if (wrongWay.length > 0) {
  console.error(`check-cycles: ${wrongWay.length} import(s) against the layers:`);
  for (const line of wrongWay) console.error(`  ${line}`);
}

let total = 0;
for (const component of knots(graph)) {
  const { cycles, capped } = cyclesOf(component);
  for (const cycle of cycles) console.error(`check-cycles: cycle: ${cycle.map(rel).join(' -> ')}`);
  if (capped) console.error(`check-cycles: ... and more cycles among ${component.map(rel).join(', ')}`);
  total += cycles.length;
}
if (total > 0) {
  console.error(`check-cycles: ${total} import cycle(s) in ${rel(srcDir)}/ (${files.length} files)`);
}
if (total > 0 || wrongWay.length > 0) process.exit(1);
console.log(`check-cycles: no import cycle in ${rel(srcDir) || '.'}/ (${files.length} files)`);
