import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, hasCode } from '../errors.ts';
import {
  HEAD_MAX,
  headOf,
  offsetFilePath,
  parseLogtailOffset,
  readJournalSidecar,
  readLogtailOffset,
  readOffsetSidecar,
  sidecarPath,
  writeJournalSidecar,
  writeLogtailOffset,
  writeOffsetSidecar,
} from './offsets.ts';

test('offset file path: state dir + offset + the absolute path with / turned into .', () => {
  assert.equal(
    offsetFilePath('/var/lib/logcheck', '/var/log/syslog'),
    '/var/lib/logcheck/offset.var.log.syslog',
  );
  assert.equal(offsetFilePath('/s', '/tmp/x/sample.log'), '/s/offset.tmp.x.sample.log');
  assert.equal(sidecarPath('/s/offset.var.log.syslog'), '/s/portsnare-offset.var.log.syslog');
  // A record can never be another log's offset file: those all start with "offset.".
  assert.notEqual(sidecarPath(offsetFilePath('/s', '/a')), offsetFilePath('/s', '/a.portsnare'));
});

test('parses logtail2 and classic logtail forms; refuses garbage', () => {
  assert.deepEqual(parseLogtailOffset('2146353\n189\n'), { inode: 2146353, offset: 189 });
  assert.deepEqual(parseLogtailOffset('2146353\n189'), { inode: 2146353, offset: 189 });
  assert.equal(parseLogtailOffset(''), null);
  for (const bad of ['x\n1\n', '1\n', '1\n2\n3\n', '1\n-2\n', '1 \n2\n', '99999999999999999\n1\n']) {
    assert.throws(
      () => parseLogtailOffset(bad),
      (err) => hasCode(err, ErrorCodes.LOG_OFFSET),
      JSON.stringify(bad),
    );
  }
});

test('writes <inode>\\n<offset>\\n atomically with mode 0600, no temp file left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-offsets-'));
  const path = offsetFilePath(dir, '/var/log/syslog');
  assert.equal(await readLogtailOffset(path), null);
  await writeLogtailOffset(path, { inode: 12, offset: 34 });
  await writeLogtailOffset(path, { inode: 12, offset: 56 });
  assert.equal(await readFile(path, 'utf8'), '12\n56\n');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), ['offset.var.log.syslog']);
  assert.deepEqual(await readLogtailOffset(path), { inode: 12, offset: 56 });
});

test('sidecar records round-trip; a damaged one is ignored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'psn-offsets-'));
  const path = sidecarPath(offsetFilePath(dir, '/var/log/syslog'));
  assert.equal(await readOffsetSidecar(path), null);
  const rec = {
    version: 1,
    dev: 2049,
    inode: 7,
    offset: 189,
    size: 200,
    head: headOf(Buffer.from('first\nsecond\n'), 13),
  } as const;
  await writeOffsetSidecar(path, rec);
  assert.deepEqual(await readOffsetSidecar(path), rec);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  await writeFile(path, '{"version":1,"dev":1');
  assert.equal(await readOffsetSidecar(path), null);
  await writeFile(path, '{"version":2,"dev":1,"inode":1,"offset":1,"size":1,"head":null}');
  assert.equal(await readOffsetSidecar(path), null);

  const jpath = sidecarPath(join(dir, 'offset.journal'));
  await writeJournalSidecar(jpath, { version: 1, cursor: 's=1;i=2', offsetMtimeMs: 1000 });
  assert.deepEqual(await readJournalSidecar(jpath), { version: 1, cursor: 's=1;i=2', offsetMtimeMs: 1000 });
});

test('head: the first line, capped at HEAD_MAX bytes; none while the first line is incomplete', () => {
  assert.equal(headOf(Buffer.from('abc\ndef\n'), 8)?.length, 4);
  assert.equal(headOf(Buffer.from('abc'), 3), null);
  assert.equal(headOf(Buffer.alloc(HEAD_MAX, 0x61), HEAD_MAX + 10)?.length, HEAD_MAX);
  assert.notEqual(headOf(Buffer.from('a\n'), 2)?.sha256, headOf(Buffer.from('b\n'), 2)?.sha256);
});
