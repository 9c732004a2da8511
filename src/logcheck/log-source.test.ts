import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFile,
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { ErrorCodes, hasCode } from '../errors.ts';
import {
  JOURNAL_FIRST_RUN_LINES,
  openJournalRead,
  openLogRead,
  parseLogfileList,
  readLogfileLists,
  type LogRead,
  type LogReadOptions,
} from './log-source.ts';
import {
  offsetFilePath,
  readLogtailOffset,
  readOffsetSidecar,
  sidecarPath,
  writeLogtailOffset,
  writeOffsetSidecar,
} from './offsets.ts';

const FIXTURES = new URL('../../test/fixtures/logcheck/expected/', import.meta.url);

const A = [1, 2, 3].map((i) => `Nov 22 11:00:0${i} host rotdemo[77]: part A line ${i} (before run 1)`);
const B = [1, 2, 3].map(
  (i) => `Nov 22 11:10:0${i} host rotdemo[77]: part B line ${i} (appended after run 1, then rotated away)`,
);
const C = (n: number) =>
  Array.from(
    { length: n },
    (_, k) => `Nov 22 11:20:0${k + 1} host rotdemo[77]: part C line ${k + 1} (new file after rotation)`,
  );
const text = (lines: readonly string[]) => lines.map((l) => `${l}\n`).join('');

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'psn-logsrc-'));
}

async function setup(): Promise<{ dir: string; log: string; state: string }> {
  const dir = await tempDir();
  const state = join(dir, 'state');
  await mkdir(state);
  return { dir, log: join(dir, 'syslog'), state };
}

async function drain(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

async function collect(read: LogRead): Promise<string[]> {
  const out: string[] = [];
  for await (const line of read.lines) out.push(line);
  return out;
}

/** One run: plan, read everything, commit unless `test` (logcheck's -t). */
async function run(
  log: string,
  opts: LogReadOptions,
  test = false,
): Promise<{ lines: string[]; read: LogRead }> {
  const read = await openLogRead(log, opts);
  const lines = await collect(read);
  if (!test) await read.commit();
  return { lines, read };
}

/** The System Events lines of a fixture report body. */
async function fixtureLines(name: string): Promise<string[]> {
  const body = await readFile(new URL(name, FIXTURES), 'utf8');
  const lines = body.split('\n');
  const start = lines.indexOf('=-=-=-=-=-=-=') + 1;
  const end = lines.indexOf('', start);
  return lines.slice(start, end);
}

function sh(cwd: string, script: string): void {
  execFileSync('/bin/sh', ['-c', script], { cwd });
}

const has = (program: string) => spawnSync(program, ['--version'], { stdio: 'ignore' }).status === 0;

interface Scenario {
  action: string;
  nc?: number;
  /** logtail2 gets run 2 right: our lines must equal the fixture's. */
  logtail2Right?: boolean;
  /** After the rotation, make the saved inode the new file's (ext4 handed the freed number on). */
  reuseInode?: boolean;
  needs?: string;
}

const SCENARIOS: Record<string, Scenario> = {
  logrotate: { action: 'mv syslog syslog.1 && : > syslog', logtail2Right: true },
  dateext: { action: 'mv syslog syslog-20251122 && : > syslog', logtail2Right: true },
  'compress-nodelay': { action: 'mv syslog syslog.1 && : > syslog && gzip syslog.1' },
  savelog: {
    action:
      'echo old | gzip > syslog.1.gz && touch -d 2025-11-21 syslog.1.gz && mv syslog syslog.0 && : > syslog',
    logtail2Right: true,
  },
  'savelog-first': { action: 'mv syslog syslog.0 && : > syslog' },
  'inode-reuse': { action: 'mv syslog syslog.old && gzip syslog.old && : > syslog', reuseInode: true },
  'copytruncate-grown': { action: 'cp syslog syslog.1 && : > syslog', nc: 3 },
  'copytruncate-shrunk': { action: 'cp syslog syslog.1 && : > syslog', nc: 1 },
  // Not in the fixtures: logrotate's compress without delaycompress, with xz and zstd.
  'compress-nodelay-xz': { action: 'mv syslog syslog.1 && : > syslog && xz syslog.1', needs: 'xz' },
  'compress-nodelay-zstd': {
    action: 'mv syslog syslog.1 && : > syslog && zstd -q --rm syslog.1',
    needs: 'zstd',
  },
};

for (const [name, sc] of Object.entries(SCENARIOS)) {
  test(`rotation ${name}: run 2 gives B then C, nothing lost or repeated`, async (t) => {
    if (sc.needs !== undefined && !has(sc.needs)) {
      t.skip(`${sc.needs} is not installed`);
      return;
    }
    const { dir, log, state } = await setup();
    await writeFile(log, text(A));
    const run1 = await run(log, { stateDir: state });
    assert.deepEqual(run1.lines, A);
    if (sc.needs === undefined) assert.deepEqual(run1.lines, await fixtureLines(`rotation-${name}-run1.txt`));
    assert.deepEqual(await readLogtailOffset(offsetFilePath(state, log)), {
      inode: (await stat(log)).ino,
      offset: 189,
    });

    await appendFile(log, text(B));
    sh(dir, sc.action);
    const nc = sc.nc ?? 3;
    await appendFile(log, text(C(nc)));
    if (sc.reuseInode) {
      // ext4 gave the new file the old inode number; a temp dir need not, so the state says so.
      const offsetFile = offsetFilePath(state, log);
      const ino = (await stat(log)).ino;
      await writeLogtailOffset(offsetFile, { inode: ino, offset: 189 });
      const side = await readOffsetSidecar(sidecarPath(offsetFile));
      assert.ok(side);
      await writeOffsetSidecar(sidecarPath(offsetFile), { ...side, inode: ino });
    }

    const run2 = await run(log, { stateDir: state });
    assert.deepEqual(run2.lines, [...B, ...C(nc)]);
    if (sc.logtail2Right) assert.deepEqual(run2.lines, await fixtureLines(`rotation-${name}-run2.txt`));
    assert.ok(!run2.lines.some((l) => l.includes('WARNING')), 'no logtail2 banner among the lines');
    assert.ok(run2.read.notes.length > 0, 'the rotation is noted');

    const run3 = await run(log, { stateDir: state });
    assert.deepEqual(run3.lines, [], 'nothing new: nothing');
    await appendFile(log, 'Nov 22 11:30:00 host rotdemo[77]: after\n');
    assert.deepEqual((await run(log, { stateDir: state })).lines, [
      'Nov 22 11:30:00 host rotdemo[77]: after',
    ]);
  });
}

test('a compressed rotated file whose decompressor is missing is an error, not silent loss', async () => {
  const { dir, log, state } = await setup();
  await writeFile(log, text(A));
  await run(log, { stateDir: state });
  await appendFile(log, text(B));
  // A fake .xz: which program reads it is all that matters here.
  sh(dir, 'mv syslog syslog.1.xz && : > syslog');
  const offsetBefore = await readFile(offsetFilePath(state, log), 'utf8');
  const opts = { stateDir: state, commands: { xz: join(dir, 'no-such-xz') } };
  const side = await readOffsetSidecar(sidecarPath(offsetFilePath(state, log)));
  assert.ok(side?.head);
  // With portsnare's record: the first line of syslog.1.xz cannot be checked without xz.
  await assert.rejects(
    openLogRead(log, opts),
    (err) => hasCode(err, ErrorCodes.COMMAND_FAILED) && /not installed/.test(err.message),
  );
  // Without it (offsets from logtail2) the generation is taken unverified and fails when read.
  await rename(sidecarPath(offsetFilePath(state, log)), join(dir, 'aside'));
  const read = await openLogRead(log, opts);
  await assert.rejects(
    collect(read),
    (err) => hasCode(err, ErrorCodes.COMMAND_FAILED) && /not installed/.test(err.message),
  );
  await assert.rejects(read.commit(), (err) => hasCode(err, ErrorCodes.LOG_OFFSET));
  assert.equal(await readFile(offsetFilePath(state, log), 'utf8'), offsetBefore, 'offsets unchanged');
});

test('partial line: held back until complete, then read whole (logtail2 splits it)', async () => {
  const { log, state } = await setup();
  await writeFile(log, 'Nov 22 12:00:01 host partial[1]: this line is being writ');
  const run1 = await run(log, { stateDir: state });
  assert.deepEqual(run1.lines, []);
  assert.deepEqual(await fixtureLines('partial-line-run1.txt'), [
    'Nov 22 12:00:01 host partial[1]: this line is being writ',
  ]);
  assert.equal((await readLogtailOffset(offsetFilePath(state, log)))?.offset, 0);
  assert.match(run1.read.notes.join('\n'), /not complete/);
  await appendFile(log, 'ten by syslog right now\n');
  const run2 = await run(log, { stateDir: state });
  assert.deepEqual(run2.lines, [
    'Nov 22 12:00:01 host partial[1]: this line is being written by syslog right now',
  ]);
  assert.deepEqual(await fixtureLines('partial-line-run2.txt'), ['ten by syslog right now']);
});

test('partial line then rotation: the rotated generation gives the whole line', async () => {
  const { dir, log, state } = await setup();
  await writeFile(log, `${text(A)}half`);
  assert.deepEqual((await run(log, { stateDir: state })).lines, A);
  await appendFile(log, ' done\n');
  sh(dir, 'mv syslog syslog.1 && : > syslog');
  await appendFile(log, text(C(1)));
  assert.deepEqual((await run(log, { stateDir: state })).lines, ['half done', ...C(1)]);
});

test('two runs with nothing new give nothing; -t twice gives the same lines; no commit repeats', async () => {
  const { log, state } = await setup();
  await writeFile(log, text(A));
  assert.deepEqual((await run(log, { stateDir: state }, true)).lines, A);
  assert.deepEqual((await run(log, { stateDir: state }, true)).lines, A, '-t leaves offsets alone');
  // A run whose report was not delivered: read, then fail before commit.
  const failed = await openLogRead(log, { stateDir: state });
  assert.deepEqual(await collect(failed), A);
  assert.deepEqual((await run(log, { stateDir: state })).lines, A, 'undelivered lines come again');
  assert.deepEqual((await run(log, { stateDir: state })).lines, []);
  assert.deepEqual((await run(log, { stateDir: state })).lines, []);
});

test('streams in small chunks: lines across chunk edges, over-long lines in pieces', async () => {
  const { log, state } = await setup();
  const lines = [...A, 'x'.repeat(50), '', 'é ü ß', ...B];
  await writeFile(log, text(lines));
  assert.deepEqual((await run(log, { stateDir: state, chunkSize: 7, maxLineBytes: 20 })).lines, [
    ...A.flatMap((l) => l.match(/.{1,20}/g) ?? []),
    'x'.repeat(20),
    'x'.repeat(20),
    'x'.repeat(10),
    '',
    'é ü ß',
    ...B.flatMap((l) => l.match(/.{1,20}/g) ?? []),
  ]);
  const { lines: again } = await run(log, { stateDir: state, chunkSize: 3 });
  assert.deepEqual(again, []);
});

test('commit before reading everything is refused; lines can be read once', async () => {
  const { log, state } = await setup();
  await writeFile(log, text(A));
  const read = await openLogRead(log, { stateDir: state });
  await assert.rejects(read.commit(), (err) => hasCode(err, ErrorCodes.LOG_OFFSET));
  for await (const line of read.lines) {
    assert.equal(line, A[0]);
    break;
  }
  await assert.rejects(read.commit(), (err) => hasCode(err, ErrorCodes.LOG_OFFSET));
  await assert.rejects(collect(read), (err) => hasCode(err, ErrorCodes.LOG_OFFSET));
  assert.equal(await readLogtailOffset(offsetFilePath(state, log)), null);
});

test('a missing log or a directory is an error', async () => {
  const { dir, state } = await setup();
  await assert.rejects(openLogRead(join(dir, 'nope'), { stateDir: state }), (err) =>
    hasCode(err, ErrorCodes.FILE),
  );
  await assert.rejects(openLogRead(dir, { stateDir: state }), (err) => hasCode(err, ErrorCodes.FILE_TYPE));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  await assert.rejects(openLogRead(join(dir, 'fifo'), { stateDir: state }), (err) =>
    hasCode(err, ErrorCodes.FILE_TYPE),
  );
});

const LOGTAIL2 = '/usr/sbin/logtail2';
const haveLogtail2 =
  spawnSync(LOGTAIL2, ['-f', '/dev/null', '-t', '-o', '/dev/null'], { stdio: 'ignore' }).error === undefined;

test(
  'offsets written by portsnare are read right by the real logtail2',
  { skip: !haveLogtail2 },
  async () => {
    const { log, state } = await setup();
    await writeFile(log, `${text(A)}half`);
    await run(log, { stateDir: state });
    await appendFile(log, ` done\n${text(B)}`);
    const out = execFileSync(LOGTAIL2, ['-f', log, '-o', offsetFilePath(state, log)], { encoding: 'utf8' });
    assert.equal(out, `half done\n${text(B)}`);
    const again = execFileSync(LOGTAIL2, ['-f', log, '-o', offsetFilePath(state, log)], { encoding: 'utf8' });
    assert.equal(again, '');
    // And back: logtail2's offsets are ours to go on from.
    assert.deepEqual((await run(log, { stateDir: state })).lines, []);
  },
);

test(
  'offsets written by logtail2 are read right by portsnare (also after a rotation)',
  { skip: !haveLogtail2 },
  async () => {
    const { dir, log, state } = await setup();
    await writeFile(log, text(A));
    const offsetFile = offsetFilePath(state, log);
    assert.equal(execFileSync(LOGTAIL2, ['-f', log, '-o', offsetFile], { encoding: 'utf8' }), text(A));
    await appendFile(log, text(B));
    assert.deepEqual((await run(log, { stateDir: state })).lines, B);
    // logtail2 again, then a rotation read by us: the stale record (old inode) must not confuse it.
    await appendFile(log, text(C(2)));
    assert.equal(execFileSync(LOGTAIL2, ['-f', log, '-o', offsetFile], { encoding: 'utf8' }), text(C(2)));
    await appendFile(log, text(B));
    sh(dir, 'mv syslog syslog.1 && : > syslog');
    await appendFile(log, text(A));
    assert.deepEqual((await run(log, { stateDir: state })).lines, [...B, ...A]);
    // classic logtail's form, without the final newline
    await appendFile(log, text(C(1)));
    const st = await stat(log);
    await writeFile(offsetFile, `${st.ino}\n${st.size - text(C(1)).length}`);
    assert.deepEqual((await run(log, { stateDir: state })).lines, C(1));
  },
);

test(
  'logtail2 ran after a copytruncate: its offset stands, our stale record is not used',
  { skip: !haveLogtail2 },
  async () => {
    const { dir, log, state } = await setup();
    await writeFile(log, text(A));
    await run(log, { stateDir: state });
    await appendFile(log, text(B));
    sh(dir, 'cp syslog syslog.1 && : > syslog');
    await appendFile(log, text(C(3)));
    // logtail2 prints its fragment (the lines are lost there) and saves an offset of the same inode.
    const out = execFileSync(LOGTAIL2, ['-f', log, '-o', offsetFilePath(state, log)], { encoding: 'utf8' });
    assert.equal(out, 'line 3 (new file after rotation)\n');
    await appendFile(log, 'Nov 22 11:30:00 host rotdemo[77]: D\n');
    assert.deepEqual((await run(log, { stateDir: state })).lines, ['Nov 22 11:30:00 host rotdemo[77]: D']);
  },
);

test('copytruncate with offsets from logtail2 (no portsnare record): the copy is read unverified', async () => {
  const { dir, log, state } = await setup();
  await writeFile(log, text(A));
  const st = await stat(log);
  await writeLogtailOffset(offsetFilePath(state, log), { inode: st.ino, offset: st.size });
  await appendFile(log, text(B));
  sh(dir, 'cp syslog syslog.1 && : > syslog');
  await appendFile(log, text(C(1)));
  const run2 = await run(log, { stateDir: state });
  assert.deepEqual(run2.lines, [...B, ...C(1)]);
  assert.match(run2.read.notes.join('\n'), /not verified/);
});

// ---------------------------------------------------------------------------------------------
// journal

async function fakeJournalctl(dir: string): Promise<{ bin: string; calls: string; output: string }> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const calls = join(dir, 'calls');
  const output = join(dir, 'output');
  await writeFile(output, '');
  await writeFile(
    join(bin, 'journalctl'),
    `#!/bin/sh\nfor a in "$@"; do printf '%s|' "$a" >> '${calls}'; done\necho >> '${calls}'\ncat '${output}'\n`,
  );
  await chmod(join(bin, 'journalctl'), 0o755);
  return { bin, calls, output };
}

test("journal: first run --since=-5h with logcheck's lines, then the cursor; logcheck's touch wins", async () => {
  const { dir, state } = await setup();
  const fake = await fakeJournalctl(dir);
  const savedPath = process.env.PATH;
  process.env.PATH = `${fake.bin}:${savedPath ?? ''}`;
  try {
    const now = () => Date.parse('2025-11-22T11:02:30Z');
    await writeFile(
      fake.output,
      'Nov 22 11:00:01 host a[1]: one\nNov 22 11:00:02 host a[1]: two\n-- cursor: s=abc;i=2\n',
    );
    const r1 = await openJournalRead({ stateDir: state, now });
    assert.deepEqual(r1.preamble, JOURNAL_FIRST_RUN_LINES);
    assert.equal(JOURNAL_FIRST_RUN_LINES.length, 3);
    const lines1: string[] = [];
    for await (const l of r1.lines) lines1.push(l);
    assert.deepEqual(lines1, ['Nov 22 11:00:01 host a[1]: one', 'Nov 22 11:00:02 host a[1]: two']);
    await r1.commit();
    const offsetJournal = join(state, 'offset.journal');
    assert.equal((await stat(offsetJournal)).mtimeMs, Date.parse('2025-11-22T11:02:30Z'));

    // -t: read without commit, twice the same arguments
    await writeFile(fake.output, 'Nov 22 11:05:00 host a[1]: three\n-- cursor: s=abc;i=3\n');
    for (let i = 0; i < 2; i++) {
      const rt = await openJournalRead({ stateDir: state, now });
      assert.deepEqual(rt.args, ['--quiet', '--show-cursor', '--after-cursor=s=abc;i=2']);
      assert.deepEqual(rt.preamble, []);
      for await (const l of rt.lines) assert.equal(l, 'Nov 22 11:05:00 host a[1]: three');
    }
    const r2 = await openJournalRead({ stateDir: state, now });
    await drain(r2.lines);
    await r2.commit();
    // nothing new: no cursor printed, the old one stays
    await writeFile(fake.output, '');
    const r3 = await openJournalRead({ stateDir: state, now });
    assert.deepEqual(await drain(r3.lines), []);
    await r3.commit();
    const r4 = await openJournalRead({ stateDir: state, now });
    assert.deepEqual(r4.args, ['--quiet', '--show-cursor', '--after-cursor=s=abc;i=3']);
    await drain(r4.lines);

    // logcheck ran in between (touched offset.journal): its position wins
    const t = new Date('2025-11-22T12:00:00Z');
    await utimes(offsetJournal, t, t);
    const r5 = await openJournalRead({ stateDir: state, now });
    assert.deepEqual(r5.args, ['--quiet', '--show-cursor', `--since=@${t.getTime() / 1000}`]);
    await drain(r5.lines);
    const calls = (await readFile(fake.calls, 'utf8')).trim().split('\n');
    assert.equal(calls[0], '--quiet|--show-cursor|--since=-5h|');
  } finally {
    process.env.PATH = savedPath;
  }
});

test('journal: journalctl missing or failing is an error and nothing is touched', async () => {
  const { dir, state } = await setup();
  const r = await openJournalRead({ stateDir: state, journalctl: join(dir, 'no-journalctl') });
  await assert.rejects(
    (async () => {
      await drain(r.lines);
    })(),
    (err) => hasCode(err, ErrorCodes.COMMAND_FAILED) && /not installed/.test(err.message),
  );
  await assert.rejects(r.commit(), (err) => hasCode(err, ErrorCodes.LOG_OFFSET));
  const failing = await openJournalRead({ stateDir: state, journalctl: '/bin/false' });
  await assert.rejects(
    (async () => {
      await drain(failing.lines);
    })(),
    (err) => hasCode(err, ErrorCodes.COMMAND_FAILED),
  );
  await assert.rejects(stat(join(state, 'offset.journal')));
});

// ---------------------------------------------------------------------------------------------
// logfile lists

test('logfile lists: comments and blanks skipped, journal, E: lines for what is not a regular file', async () => {
  const dir = await tempDir();
  const log1 = join(dir, 'syslog');
  const log2 = join(dir, 'auth.log');
  await writeFile(log1, '');
  await writeFile(log2, '');
  const list = join(dir, 'logcheck.logfiles');
  await writeFile(list, `# comment\n\n   \n${log1}\n`);
  const d = join(dir, 'logcheck.logfiles.d');
  await mkdir(d);
  await writeFile(join(d, 'b.logfiles'), `journal\n${join(dir, 'missing')}\n${dir}\n  # not at column 0\n`);
  await writeFile(join(d, 'a.logfiles'), `${log2}\n${log1}\n`);
  await writeFile(join(d, 'ignored.txt'), '/nope\n');
  const got = await readLogfileLists(list, d, { journalctl: '/bin/true' });
  assert.deepEqual(got.sources, [
    { kind: 'file', path: log1 },
    { kind: 'file', path: log2 },
    { kind: 'journal' },
  ]);
  assert.deepEqual(got.errors, [
    `E: File could not be read: ${join(dir, 'missing')}`,
    `E: File could not be read: ${dir}`,
    'E: File could not be read:   # not at column 0',
  ]);
  assert.deepEqual(
    (await readLogfileLists(join(d, 'b.logfiles'), null, { journalctl: 'no-such-journalctl' })).errors,
    [
      'E: File could not be read: journal',
      `E: File could not be read: ${join(dir, 'missing')}`,
      `E: File could not be read: ${dir}`,
      'E: File could not be read:   # not at column 0',
    ],
  );
  assert.deepEqual(parseLogfileList('#x\n/a\n\n/b'), ['/a', '/b']);
  assert.deepEqual((await readLogfileLists(null, join(dir, 'no-dir'))).sources, []);
  await assert.rejects(
    readLogfileLists(join(dir, 'no-list'), null),
    (err) =>
      hasCode(err, ErrorCodes.FILE) &&
      err.message === `${join(dir, 'no-list')} does not exist or could not be read`,
  );
  await assert.rejects(readLogfileLists(d, null), (err) => hasCode(err, ErrorCodes.FILE));
  await copyFile(list, join(d, 'c.logfiles'));
});

test('memory does not grow with the log (48 MiB read line by line)', async () => {
  // A gc() for this test only, so what is measured is what stays alive, not garbage not yet swept.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { log, state } = await setup();
  const line = `Nov 22 11:00:00 host big[1]: ${'x'.repeat(100)}`;
  const lines = Math.ceil((48 * 1024 * 1024) / (line.length + 1));
  execFileSync('/bin/sh', ['-c', `yes '${line}' | head -n ${lines} > '${log}'`]);
  const read = await openLogRead(log, { stateDir: state });
  gc();
  const before = process.memoryUsage().heapUsed;
  let peak = 0;
  let count = 0;
  for await (const got of read.lines) {
    if (got !== line) assert.fail(`unexpected line ${got}`);
    if (++count % 50000 === 0) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
  }
  await read.commit();
  assert.equal(count, lines);
  assert.equal((await readLogtailOffset(offsetFilePath(state, log)))?.offset, (await stat(log)).size);
  assert.ok(peak < 4 * 1024 * 1024, `live heap grew by ${(peak / 1048576).toFixed(1)} MiB`);
});
