import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ErrorCodes } from '../errors.ts';
import { addHostsDenyLine, addHostsDenyLines, removeHostsDenyLines } from './hosts-deny.ts';

const scratch = () => mkdtemp(join(tmpdir(), 'psn-hostsdeny-'));

test('appends once, keeps the existing content and mode, leaves no temp file', async () => {
  const dir = await scratch();
  const path = join(dir, 'hosts.deny');
  await writeFile(path, '# /etc/hosts.deny\nsshd: 198.51.100.1'); // no trailing newline
  await chmod(path, 0o640);
  assert.equal(await addHostsDenyLine(path, 'ALL: 192.0.2.7 : DENY'), 'added');
  assert.equal(await addHostsDenyLine(path, 'ALL: 192.0.2.7 : DENY'), 'present');
  assert.equal(
    await readFile(path, 'utf8'),
    '# /etc/hosts.deny\nsshd: 198.51.100.1\nALL: 192.0.2.7 : DENY\n',
  );
  assert.equal((await stat(path)).mode & 0o777, 0o640);
  assert.deepEqual(await readdir(dir), ['hosts.deny']);
});

test('creates a missing file 0644', async () => {
  const path = join(await scratch(), 'hosts.deny');
  assert.equal(await addHostsDenyLine(path, 'ALL: 2001:db8::7 : DENY'), 'added');
  assert.equal(await readFile(path, 'utf8'), 'ALL: 2001:db8::7 : DENY\n');
  assert.equal((await stat(path)).mode & 0o777, 0o644);
});

test('concurrent adds are serialised: every line once, none lost', async () => {
  const path = join(await scratch(), 'hosts.deny');
  const lines = Array.from({ length: 50 }, (_, i) => `ALL: 192.0.2.${i} : DENY`);
  await Promise.all([...lines, ...lines].map((line) => addHostsDenyLine(path, line)));
  const written = (await readFile(path, 'utf8')).trimEnd().split('\n');
  assert.deepEqual([...written].sort(), [...lines].sort());
});

test('a symlinked hosts.deny is followed, the link kept', async () => {
  const dir = await scratch();
  const real = join(dir, 'real.deny');
  const link = join(dir, 'hosts.deny');
  await writeFile(real, '');
  await symlink(real, link);
  await addHostsDenyLine(link, 'ALL: 192.0.2.9 : DENY');
  assert.equal(await readFile(real, 'utf8'), 'ALL: 192.0.2.9 : DENY\n');
  assert.ok((await import('node:fs')).lstatSync(link).isSymbolicLink());
});

test('a line with a line break is refused; an unwritable directory is a failure', async () => {
  const dir = await scratch();
  await assert.rejects(addHostsDenyLine(join(dir, 'hosts.deny'), 'ALL: 1.2.3.4\nALL: ALL'), /line break/);
  await assert.rejects(addHostsDenyLine(join(dir, 'missing-dir', 'hosts.deny'), 'ALL: 192.0.2.1'), /ENOENT/);
});

test('removeHostsDenyLines removes exactly our lines, keeps everything else, mode and order', async () => {
  const dir = await scratch();
  const path = join(dir, 'hosts.deny');
  await writeFile(
    path,
    '# keep me\nALL: 192.0.2.7 : DENY\nsshd: 198.51.100.1\n\n  ALL: 192.0.2.8 : DENY  \n',
  );
  await chmod(path, 0o640);
  assert.equal(await removeHostsDenyLines(path, ['ALL: 192.0.2.7 : DENY', 'ALL: 192.0.2.8 : DENY']), 2);
  assert.equal(await readFile(path, 'utf8'), '# keep me\nsshd: 198.51.100.1\n\n');
  assert.equal((await stat(path)).mode & 0o777, 0o640);
  // A line that is not there changes nothing (the file is not even rewritten).
  const before = (await stat(path)).ino;
  assert.equal(await removeHostsDenyLines(path, ['ALL: 192.0.2.99 : DENY']), 0);
  assert.equal((await stat(path)).ino, before);
  // Only whole lines: a longer line that merely contains ours stays.
  await writeFile(path, 'ALL: 192.0.2.70 : DENY\nALL: 192.0.2.7 : DENY, twist\n');
  assert.equal(await removeHostsDenyLines(path, ['ALL: 192.0.2.7 : DENY']), 0);
  assert.deepEqual(await readdir(dir), ['hosts.deny']);
  await assert.rejects(removeHostsDenyLines(path, ['ALL: 1.2.3.4\nALL: ALL']), /line break/);
});

test('addHostsDenyLines adds many in one rewrite without duplicates (restore after a restart)', async () => {
  const path = join(await scratch(), 'hosts.deny');
  await writeFile(path, 'ALL: 192.0.2.1 : DENY\n');
  const lines = [
    'ALL: 192.0.2.1 : DENY',
    'ALL: 192.0.2.2 : DENY',
    'ALL: 192.0.2.2 : DENY',
    'ALL: 2001:db8::2 : DENY',
  ];
  assert.equal(await addHostsDenyLines(path, lines), 2);
  assert.equal(await addHostsDenyLines(path, lines), 0);
  assert.equal(
    await readFile(path, 'utf8'),
    'ALL: 192.0.2.1 : DENY\nALL: 192.0.2.2 : DENY\nALL: 2001:db8::2 : DENY\n',
  );
});

test('a hosts.deny that became a FIFO fails the add and the removal at once (issue 9 item 7)', async () => {
  const dir = await scratch();
  const path = join(dir, 'hosts.deny');
  await promisify(execFile)('mkfifo', [path]);
  const within = <T>(promise: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('still waiting after 2 s: it blocked')), 2000);
      timer.unref();
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  };
  await assert.rejects(within(addHostsDenyLine(path, 'ALL: 192.0.2.1')), {
    code: ErrorCodes.FILE_TYPE,
    message: /is a FIFO, not a regular file/,
  });
  await assert.rejects(within(removeHostsDenyLines(path, ['ALL: 192.0.2.1'])), {
    code: ErrorCodes.FILE_TYPE,
  });
  assert.ok((await stat(path)).isFIFO(), 'the FIFO is left as it is, not renamed over');
  assert.deepEqual((await readdir(dir)).sort(), ['hosts.deny']);
});
