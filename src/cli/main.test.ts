// The CLI as a process (pino-style): each case runs src/cli/main.ts in a child and checks exit
// status, output, and that a refused start touched nothing. No root or network needed: every case
// here stops before any port is bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function scratchConfig(lines: string[]): Promise<{ dir: string; config: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'psn-cli-'));
  const config = join(dir, 'portsentry.conf');
  const base = [
    `IGNORE_FILE="${dir}/ignore"`,
    `HISTORY_FILE="${dir}/history"`,
    `BLOCKED_FILE="${dir}/blocked"`,
    `HOSTS_DENY_FILE="${dir}/hosts.deny"`,
    `STATE_DIR="${dir}/state"`,
    `SYSLOG_SOCKET="${dir}/no-syslog-here"`,
  ];
  await writeFile(config, [...base, ...lines].join('\n') + '\n');
  return { dir, config };
}

test('--version and --help', async () => {
  const version = await run(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^portsnare \d+\.\d+\.\d+ \(PortSentry 1\.2 compatible\)\n$/);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: portsnare/);
});

test('a misspelt option is a usage error (64), never a guess', async () => {
  const result = await run(['-tpc']);
  assert.equal(result.code, 64);
  assert.match(result.stderr, /^portsnare: Unknown option '-t'/);
});

test('check-config: exit 0 on a good file, 78 with file:line:key on a bad one', async () => {
  const good = await scratchConfig(['TCP_PORTS="1,2,3"']);
  const ok = await run(['check-config', '--config', good.config]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /^TCP_PORTS="1,2,3" +# line 7$/m);
  assert.match(ok.stdout, /^UDP_PORTS="1,7,9,.*" +# default$/m);

  const bad = await scratchConfig(['TCP_PORTS="1,x"', 'BLOCK_TCP=1']);
  const result = await run(['check-config', '--config', bad.config]);
  assert.equal(result.code, 78);
  assert.ok(result.stdout.includes(`error: ${bad.config}:7: TCP_PORTS: "x" is not a port or a range a-b`));
  assert.ok(result.stdout.includes(`error: ${bad.config}:8: BLOCK_TCP: value is not in double quotes`));
  assert.match(result.stdout, /# 2 error\(s\)/);
});

test('a config error stops the start (78) before anything is created, bound or run', async () => {
  const { dir, config } = await scratchConfig([
    'TCP_PORTS="1,70000"',
    'BLOCK_TCP="1"',
    `KILL_RUN_CMD="/usr/bin/touch ${'$'}TARGET${'$'}"`,
  ]);
  const result = await run(['-tcp', '--config', config, '--foreground']);
  assert.equal(result.code, 78);
  assert.ok(
    result.stderr.includes(
      `portsnare: error: ${config}:7: TCP_PORTS: port 70000 in "70000" is out of range 1-65535`,
    ),
  );
  for (const name of ['state', 'blocked.tcp', 'history', 'hosts.deny']) {
    assert.equal(existsSync(join(dir, name)), false, `${name} must not exist`);
  }
});

test('a named config that does not exist is refused clearly', async () => {
  const missing = await run(['-tcp', '--config', '/nonexistent/portsentry.conf', '--foreground']);
  assert.equal(missing.code, 78);
  assert.match(missing.stderr, /error: \/nonexistent\/portsentry.conf: no such file/);
});

test('modes come from the defaults file when no flag is given', async () => {
  const { dir, config } = await scratchConfig([]);
  const defaults = join(dir, 'default-portsentry');
  await writeFile(defaults, 'TCP_MODE="tcp"\nUDP_MODE=""\n');
  const result = await run(['check-config', '--config', config, '--defaults-file', defaults]);
  assert.equal(result.code, 0);
  assert.ok(result.stdout.includes(`# modes: -tcp (from ${defaults})`));
  await writeFile(defaults, 'TCP_MODE="xtcp"\n');
  const bad = await run(['check-config', '--config', config, '--defaults-file', defaults]);
  assert.equal(bad.code, 78);
  assert.ok(bad.stdout.includes(`error: ${defaults}:1: TCP_MODE: xtcp is not a valid mode`));
});
