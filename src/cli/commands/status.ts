/**
 * @module cli/commands/status
 * `portsnare status [--json]`: the running daemon's modes, traps, blocking backend, counters and
 * bans. With no daemon: says so, shows the stored bans, and exits 3.
 */
import { ExitCodes } from '../../exit-codes.ts';
import { toBanView, type StatusReport } from '../../control/protocol.ts';
import { PORTSNARE_VERSION } from '../../version.ts';
import { formatBanTable } from '../ban-table.ts';
import { defineCommand } from '../command.ts';
import { askDaemon, openDirect, runControlCommand } from '../control-session.ts';
import { CONFIG, HELP, JSON_OUTPUT } from '../options.ts';

/** The table of `status` shows the newest bans only; `list` and `--json` show all. */
export const STATUS_ROWS = 50;

export function formatStatus(r: StatusReport): string {
  const lines = [
    r.running
      ? `portsnare ${r.version}: running, pid ${r.pid ?? '?'}, since ${r.startedAt ?? '?'}`
      : `portsnare ${r.version}: not running (no daemon answers in ${r.stateDir})`,
  ];
  if (r.running) {
    lines.push(
      `Modes:    ${r.modes.map((m) => `-${m}`).join(' ')}`,
      `Blocking: ${r.backend}; bans last ${r.blockTime > 0 ? `${r.blockTime} s` : 'until unblocked'}`,
      'Traps:',
    );
    for (const t of r.traps) {
      const what =
        t.ports !== null
          ? `${t.ports.length} port(s): ${t.ports.join(',')}`
          : `every free port below ${t.below ?? '?'}${t.exclude?.length ? ` except ${t.exclude.join(',')}` : ''}`;
      lines.push(`  ${t.mode.padEnd(5)} ${what}`);
    }
    lines.push(
      `Counters: ${Object.entries(r.counters)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  }
  lines.push('Bans:');
  if (r.bans.length <= STATUS_ROWS) return `${lines.join('\n')}\n${formatBanTable(r.bans)}`;
  const hidden = r.bans.length - STATUS_ROWS;
  return (
    `${lines.join('\n')}\n${formatBanTable(r.bans.slice(hidden))}` +
    `(${hidden} older ban(s) not shown, ${r.bans.length} in all: \`portsnare list\` shows every one)\n`
  );
}

export const status = defineCommand({
  name: 'status',
  description: "The daemon's modes, traps, blocking backend, counters and bans (exit 3 if it is not running)",
  takesModes: false,
  options: { config: CONFIG, json: JSON_OUTPUT, help: HELP },
  exec: ({ options }, { out, err }) =>
    runControlCommand(options.config, out, err, async (session) => {
      const print = (report: StatusReport) =>
        out.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
      const reply = await askDaemon(session, { command: 'status' });
      if (reply) {
        print(reply);
        return ExitCodes.OK;
      }
      const direct = await openDirect(session, 'read');
      const bans = direct.keeper.list().map(toBanView);
      await direct.close();
      print({
        running: false,
        pid: null,
        startedAt: null,
        version: PORTSNARE_VERSION,
        modes: [],
        backend: '',
        blockTime: session.settings.blockTime,
        traps: [],
        counters: {},
        stateDir: session.settings.stateDir,
        bans,
      });
      return ExitCodes.NOT_RUNNING;
    }),
});
