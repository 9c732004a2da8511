import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, lchown, link, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, hasCode, systemErrorCode } from '../errors.ts';
import {
  checkStateDirTrust,
  createExclusive,
  formatTrustProblems,
  openForReplace,
  writeStateFile,
} from './dir-trust.ts';

const NOBODY = 65534;
const check = (path: string, uid = 0) => formatTrustProblems(checkStateDirTrust(path, { uid }));

async function base(): Promise<string> {
  // mkdtemp under /tmp: 0700, root's; /tmp is 1777 root's (the sticky case).
  return mkdtemp(join(tmpdir(), 'psn-trust-'));
}

test('a root-owned 0700 STATE_DIR under root-owned parents (and sticky /tmp) is trusted', async () => {
  const dir = await base();
  const state = join(dir, 'state');
  await mkdir(state, { mode: 0o700 });
  assert.deepEqual(check(state), []);
  assert.deepEqual(check(join(dir, 'not-yet', 'state')), [], 'absent parts are created later');
  assert.deepEqual(check(`${state}/./`), []);
});

test('a STATE_DIR writable by others, or by its group, or sticky, is refused', async () => {
  const dir = await base();
  const state = join(dir, 'state');
  await mkdir(state);
  await chmod(state, 0o777);
  assert.deepEqual(check(state), [`${state}: is writable by everyone (mode 0777)`]);
  await chmod(state, 0o770);
  assert.deepEqual(check(state), [`${state}: is writable by its group (mode 0770)`]);
  await chmod(state, 0o1777);
  assert.deepEqual(check(state), [
    `${state}: is writable by everyone (mode 1777); the sticky bit is not enough for STATE_DIR itself`,
  ]);
});

test('ownership: another uid owning STATE_DIR or a parent is refused, unless it is the given uid', async () => {
  const dir = await base();
  const state = join(dir, 'state');
  await mkdir(state, { mode: 0o700 });
  await chown(state, NOBODY, NOBODY);
  assert.deepEqual(check(state), [`${state}: is owned by uid ${NOBODY}, not root or uid 0`]);
  assert.deepEqual(check(state, NOBODY), []);
  const parent = join(dir, 'parent');
  await mkdir(parent, { mode: 0o755 });
  await mkdir(join(parent, 'state'), { mode: 0o700 });
  await chown(parent, NOBODY, NOBODY);
  assert.deepEqual(check(join(parent, 'state')), [`${parent}: is owned by uid ${NOBODY}, not root or uid 0`]);
});

test('a world-writable parent is refused; a sticky one only holds an entry of ours', async () => {
  const dir = await base();
  const open = join(dir, 'open');
  await mkdir(open);
  await chmod(open, 0o777);
  await mkdir(join(open, 'state'), { mode: 0o700 });
  assert.deepEqual(check(join(open, 'state')), [`${open}: is writable by everyone (mode 0777)`]);
  await chmod(open, 0o1777);
  assert.deepEqual(check(join(open, 'state')), [], 'sticky parent, our entry');
  await chown(join(open, 'state'), NOBODY, NOBODY);
  assert.deepEqual(check(join(open, 'state')), [
    `${join(open, 'state')}: is owned by uid ${NOBODY}, not root or uid 0`,
  ]);
});

test('symlinks are followed component by component; the link and its target are both checked', async () => {
  const dir = await base();
  const real = join(dir, 'real');
  await mkdir(real, { mode: 0o700 });
  const viaLink = join(dir, 'link');
  await symlink(real, viaLink);
  assert.deepEqual(check(viaLink), [], 'a root-owned link to a good directory');
  await lchown(viaLink, NOBODY, NOBODY);
  assert.deepEqual(check(viaLink), [
    `${viaLink}: is a symbolic link owned by uid ${NOBODY}, not root or uid 0`,
  ]);

  const bad = join(dir, 'bad');
  await mkdir(bad);
  await chmod(bad, 0o777);
  const relLink = join(dir, 'rel');
  await symlink('bad', relLink);
  assert.deepEqual(check(relLink), [`${bad}: is writable by everyone (mode 0777)`]);
  const loop = join(dir, 'loop');
  await symlink('loop', loop);
  assert.deepEqual(check(loop), [`${loop}: more than 40 symbolic links`]);
  const file = join(dir, 'file');
  await writeFile(file, '');
  assert.deepEqual(check(file), [`${file}: is not a directory`]);
  assert.deepEqual(check('relative/dir'), ['relative/dir: is not an absolute path']);
});

test('createExclusive never opens a planted file or symlink', async () => {
  const dir = await base();
  const target = join(dir, 'victim');
  await writeFile(target, 'precious');
  await symlink(target, join(dir, 'portsnare.pid'));
  await assert.rejects(createExclusive(dir, 'portsnare.pid'), (err) => systemErrorCode(err) === 'EEXIST');
  const handle = await createExclusive(dir, 'fresh');
  await handle.writeFile('1\n');
  await handle.close();
  assert.equal(await readFile(join(dir, 'fresh'), 'utf8'), '1\n');
  await assert.rejects(createExclusive(dir, 'fresh'), (err) => systemErrorCode(err) === 'EEXIST');
  await assert.rejects(createExclusive(dir, '../x'), (err) => hasCode(err, ErrorCodes.UNSAFE_PATH));
  assert.equal(await readFile(target, 'utf8'), 'precious');
});

test('openForReplace (the pid file) refuses a symlink, a hard link, a FIFO and a foreign file', async () => {
  const dir = await base();
  const target = join(dir, 'victim');
  await writeFile(target, 'precious');
  await symlink(target, join(dir, 'portsnare.pid'));
  await assert.rejects(
    writeStateFile(dir, 'portsnare.pid', '42\n'),
    /portsnare.pid is a symbolic link; refused/,
  );
  await link(target, join(dir, 'hard.pid'));
  await assert.rejects(writeStateFile(dir, 'hard.pid', '42\n'), /hard.pid has 2 hard links; refused/);
  execFileSync('mkfifo', [join(dir, 'fifo.pid')]);
  const started = Date.now();
  await assert.rejects(writeStateFile(dir, 'fifo.pid', '42\n'), (err) =>
    hasCode(err, ErrorCodes.UNSAFE_PATH),
  );
  assert.ok(Date.now() - started < 2000, 'no hang on a FIFO');
  await writeFile(join(dir, 'foreign.pid'), 'x');
  await chown(join(dir, 'foreign.pid'), NOBODY, NOBODY);
  await assert.rejects(openForReplace(dir, 'foreign.pid'), /foreign.pid is owned by uid 65534; refused/);
  assert.equal(await readFile(target, 'utf8'), 'precious', 'the target is untouched');

  await writeStateFile(dir, 'ok.pid', 'a much longer old content\n');
  await writeStateFile(dir, 'ok.pid', '42\n');
  assert.equal(await readFile(join(dir, 'ok.pid'), 'utf8'), '42\n', 'replaced, not appended');
});
