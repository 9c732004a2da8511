// portsnare's logcheck rule pack (rules/logcheck/, to be installed into /etc/logcheck): every text
// PortSentry 1.2 and portsnare log, made by report/messages (the one home of those texts), under both
// syslog idents and both timestamp formats, lands where it belongs: detections and blocks in
// Security Alerts, errors, warnings and refusals in Security Events, routine lines nowhere. Checked
// with `portsnare logcheck` and, on the same input and rules, with the real logcheck 1.4.2.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatMessage, type LogMessage } from '../../src/report/messages.ts';
import { REPO_ROOT } from '../helpers/daemon.ts';
import {
  chownTree,
  copyStockRules,
  lockConf,
  logcheckUser,
  printRunArgs,
  runOursAndLogcheck,
  stockRulesAvailable,
} from '../helpers/logcheck-rules.ts';

type Where = 'alert' | 'event' | 'ignored';

const A = '203.0.113.9';
const MESSAGES: [LogMessage, Where][] = [
  [{ kind: 'connect', protocol: 'tcp', host: A, address: A, port: 143 }, 'alert'],
  [
    { kind: 'stealthScan', protocol: 'tcp', label: 'TCP SYN/Normal scan', host: A, address: A, port: 23 },
    'alert',
  ],
  [{ kind: 'stealthScan', protocol: 'tcp', label: ' TCP NULL scan', host: A, address: A, port: 80 }, 'alert'],
  [{ kind: 'stealthScan', protocol: 'udp', label: '', host: A, address: A, port: 161 }, 'alert'],
  [
    {
      kind: 'stealthScan',
      protocol: 'tcp',
      label: 'Unknown Type: TCP Packet Flags: SYN: 1 FIN: 1 ACK: 0 PSH: 0 URG: 0 RST: 0',
      host: A,
      address: A,
      port: 81,
    },
    'alert',
  ],
  [{ kind: 'ipOptions', protocol: 'tcp', host: A, address: A, port: 443 }, 'alert'],
  [{ kind: 'illegalHeaderLength', protocol: 'tcp', ihl: 3, address: A }, 'alert'],
  [{ kind: 'acceptFailed', port: 1 }, 'alert'],
  [{ kind: 'blockedWrappers', address: A, line: `ALL: ${A} : DENY` }, 'alert'],
  [{ kind: 'blockedRoute', address: A, command: `/sbin/route add -host ${A} reject` }, 'alert'],
  [{ kind: 'externalCommand', address: A, command: `/usr/local/bin/notify ${A}` }, 'alert'],
  [{ kind: 'blockedNft', address: A, set: 'inet portsnare blocked4', seconds: null }, 'alert'],
  [{ kind: 'blockedNft', address: '2001:db8::9', set: 'inet portsnare blocked6', seconds: 3600 }, 'alert'],
  [{ kind: 'manualBlock', address: A, seconds: 600 }, 'alert'],
  [{ kind: 'couldNotBlock', mode: 'tcp', host: A, address: A }, 'event'],
  [{ kind: 'hostsDenyBlockError', address: A }, 'event'],
  [{ kind: 'bindFailed', protocol: 'tcp', port: 22 }, 'event'],
  [{ kind: 'nftError', reason: 'Operation not permitted' }, 'event'],
  [{ kind: 'captureDrops', dropped: 12, received: 1000, malformed: 0 }, 'event'],
  [{ kind: 'blockCapReached', limit: 60, evidence: 'packet' }, 'event'],
  [
    {
      kind: 'refusedBlock',
      address: '192.0.2.1',
      reason: 'it is a default gateway of this host',
      intervalSeconds: 600,
    },
    'event',
  ],
  [
    {
      kind: 'forgedEvidence',
      seconds: 60,
      probes: 6000,
      sourcesPerSecond: 165000,
      ratePerSecond: 1.5,
      bar: 17.8,
      passed: 1,
      capped: 0,
    },
    'event',
  ],
  [{ kind: 'shuttingDownSecurity' }, 'event'],
  [{ kind: 'starting', version: '1.2' }, 'ignored'],
  [{ kind: 'listen', protocol: 'tcp', port: 1 }, 'ignored'],
  [{ kind: 'stealthListen', protocol: 'udp', port: 69 }, 'ignored'],
  [{ kind: 'active' }, 'ignored'],
  [{ kind: 'shuttingDownAdmin' }, 'ignored'],
  [{ kind: 'advancedMonitor', ports: 1024 }, 'ignored'],
  [{ kind: 'advancedExclude', port: 113 }, 'ignored'],
  [{ kind: 'advancedIgnored', protocol: 'tcp', port: 22 }, 'ignored'],
  [{ kind: 'captureOpened', device: 'any', filter: 'tcp and dst host 192.0.2.10' }, 'ignored'],
  [{ kind: 'alreadyBlocked', mode: 'tcp', host: A, address: A }, 'ignored'],
  [{ kind: 'alreadyBlocked', mode: 'stcp', host: A, address: A }, 'ignored'],
  [{ kind: 'ignoringResponse', protocol: 'udp' }, 'ignored'],
  [{ kind: 'banLifted', address: A, reason: 'expired', backends: 'nft' }, 'ignored'],
  [{ kind: 'bansLiftedMore', count: 3, reason: 'expired' }, 'ignored'],
  [{ kind: 'bansRestored', count: 2, dir: '/var/lib/portsnare/bans', ms: 12, routesRerun: false }, 'ignored'],
  [
    { kind: 'reloaded', configPath: '/etc/portsentry/portsentry.conf', ignoreEntries: 3, localAddresses: 2 },
    'ignored',
  ],
  [{ kind: 'counters', counters: { hits: 3, alerts: 1 } }, 'ignored'],
];

/** Every message, both idents, both stamps; each line remembers where it should land. */
function lines(): { line: string; where: Where }[] {
  const out: { line: string; where: Where }[] = [];
  let second = 0;
  for (const [message, where] of MESSAGES) {
    const text = formatMessage(message);
    for (const ident of ['portsentry', 'portsnare']) {
      second++;
      const s = String(second % 60).padStart(2, '0');
      const m = String(10 + Math.floor(second / 60)).padStart(2, '0');
      out.push({ line: `Nov 22 10:${m}:${s} host ${ident}[1201]: ${text}`, where });
      out.push({ line: `2025-11-22T10:${m}:${s}.000000+00:00 host ${ident}[1201]: ${text}`, where });
    }
  }
  return out;
}

/** Lines per report layer, from the report text. */
function layers(report: string): Record<Where | 'system', string[]> {
  const result: Record<Where | 'system', string[]> = { alert: [], event: [], ignored: [], system: [] };
  let layer: keyof typeof result | null = null;
  const all = report.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!;
    if (/^=(-=)*-?$/.test(all[i + 1] ?? '') && line.length === (all[i + 1] ?? '').length) {
      layer = line.startsWith('Security Alerts')
        ? 'alert'
        : line.startsWith('Security Events')
          ? 'event'
          : 'system';
      i++;
      continue;
    }
    if (layer && line !== '') result[layer].push(line);
  }
  return result;
}

test('the rule pack puts every PortSentry and portsnare line where it belongs, as the real logcheck does', () => {
  assert.ok(stockRulesAvailable(), 'logcheck-database is not installed: .ci/run installs it');
  const user = logcheckUser();
  const w = mkdtempSync(join(tmpdir(), 'psn-lcpack-'));
  try {
    chmodSync(w, 0o755);
    const rules = copyStockRules(join(w, 'rules'));
    for (const dir of readdirSync(join(REPO_ROOT, 'rules', 'logcheck'))) {
      cpSync(join(REPO_ROOT, 'rules', 'logcheck', dir), join(rules, dir), { recursive: true });
    }
    const input = lines();
    writeFileSync(join(w, 'ps.log'), input.map((l) => `${l.line}\n`).join(''));
    writeFileSync(join(w, 'c.conf'), `DATE="2025-11-22 11:02 +0000"\nFQDN=0\nINTRO=0\n${lockConf(w, user)}`);
    mkdirSync(join(w, 'state'));
    if (user) chownTree(w, user);
    const args = printRunArgs({
      conf: join(w, 'c.conf'),
      rules,
      state: join(w, 'state'),
      log: join(w, 'ps.log'),
      level: '-s',
    });
    const { ours, real } = runOursAndLogcheck(user, args, w);
    assert.equal(ours.status, 0, ours.stderr);
    const got = layers(ours.stdout);
    for (const { line, where } of input) {
      if (where === 'ignored') {
        assert.ok(!ours.stdout.includes(line), `reported, should be ignored: ${line}`);
      } else {
        assert.ok(got[where].includes(line), `not in ${where}: ${line}\n${ours.stdout}`);
        if (where === 'alert') assert.ok(!got.event.includes(line), `alert also an event: ${line}`);
      }
      assert.ok(!got.system.includes(line), `left in System Events: ${line}`);
    }
    assert.equal(real.status, 0, real.stderr);
    assert.equal(ours.stdout, real.stdout, 'the real logcheck reads the pack the same way');
  } finally {
    rmSync(w, { recursive: true, force: true });
  }
});
