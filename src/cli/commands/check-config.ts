/**
 * @module cli/commands/check-config
 * `portsnare check-config`: the effective settings with where each came from, then every problem
 * found; exit status 0 when a start would go ahead, 78 (EX_CONFIG) when it would refuse.
 */
import { ExitCodes } from '../../exit-codes.ts';
import { formatDiagnostic, hasErrors } from '../../config/diagnostic.ts';
import { loadStartupConfig } from '../../config/startup-config.ts';
import { defineCommand } from '../command.ts';
import { CONFIG, DEFAULTS_FILE, HELP } from '../options.ts';

export const checkConfig = defineCommand({
  name: 'check-config',
  description: 'Print the effective settings and every problem found; exit non-zero on errors',
  takesModes: true,
  options: { config: CONFIG, 'defaults-file': DEFAULTS_FILE, help: HELP },
  async exec({ modes, options }, { out }) {
    const startup = await loadStartupConfig({
      modes,
      configPath: options.config,
      defaultsPath: options['defaults-file'],
    });
    const { loaded, ignore } = startup;
    out.write(`# config: ${loaded.path ?? 'none found; built-in defaults (Debian portsentry.conf)'}\n`);
    out.write(
      `# modes: ${startup.modes.map((m) => `-${m}`).join(' ') || '(none)'} (from ${startup.modesFrom})\n`,
    );
    out.write(`# ignore file: ${ignore.path}: ${ignore.entries.length} entries\n`);
    for (const source of loaded.sources) {
      const origin = source.origin === 'default' ? 'default' : `line ${source.origin.line}`;
      out.write(`${`${source.key}="${source.value}"`.padEnd(60)} # ${origin}\n`);
    }
    if (loaded.settings.unkillRouteDerived && loaded.settings.unkillRoute) {
      out.write(`# UNKILL_ROUTE derived from KILL_ROUTE: "${loaded.settings.unkillRoute.text}"\n`);
    }
    const { diagnostics } = startup;
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    out.write(`\n# ${errors} error(s), ${diagnostics.length - errors} warning(s)\n`);
    for (const d of diagnostics) out.write(`${formatDiagnostic(d)}\n`);
    return hasErrors(diagnostics) ? ExitCodes.CONFIG : ExitCodes.OK;
  },
});
