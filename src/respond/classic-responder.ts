/**
 * @module respond/classic-responder
 * PortSentry 1.2's response to a scanner, with its order and its log lines: BLOCK_x=1 runs
 * KILL_HOSTS_DENY, KILL_ROUTE, then KILL_RUN_CMD (the command first with KILL_RUN_CMD_FIRST);
 * BLOCK_x=2 runs KILL_RUN_CMD only; BLOCK_x=0 only says it is ignoring the response. Unlike 1.2, an
 * action that fails (missing program, non-zero exit, unwritable file) makes the response fail, and a
 * failed response is never recorded as a block.
 */
import { channels } from '../diagnostics.ts';
import type { Mode, Protocol } from '../detect/probe.ts';
import { describeError } from '../errors.ts';
import type { AlertLog } from '../report/alert-log.ts';
import type { Settings } from '../config/settings.ts';
import {
  expandCommand,
  substituteMacros,
  type CommandTemplate,
  type MacroValues,
} from './command-template.ts';
import type { CommandRunner } from './exec.ts';
import type { HostsDenyOutcome } from './hosts-deny.ts';

export interface ResponseRequest {
  address: string;
  /** Resolved name or the address, for 1.2's `H/IP` texts. */
  host: string;
  port: number;
  mode: Mode;
  protocol: Protocol;
}

export interface ActionReport {
  key: 'KILL_HOSTS_DENY' | 'KILL_ROUTE' | 'KILL_RUN_CMD';
  ok: boolean;
  detail: string;
}

export interface ResponseOutcome {
  ok: boolean;
  actions: ActionReport[];
}

export interface ResponderDeps {
  settings: () => Settings;
  log: AlertLog;
  run: CommandRunner;
  addHostsDenyLine: (path: string, line: string) => Promise<HostsDenyOutcome>;
}

export class ClassicResponder {
  readonly #deps: ResponderDeps;

  constructor(deps: ResponderDeps) {
    this.#deps = deps;
  }

  async respond(request: ResponseRequest): Promise<ResponseOutcome> {
    const settings = this.#deps.settings();
    const level = request.protocol === 'tcp' ? settings.blockTcp : settings.blockUdp;
    const values: MacroValues = { target: request.address, port: request.port, mode: request.mode };
    const actions: ActionReport[] = [];

    if (level === 0) {
      this.#deps.log.log({ kind: 'ignoringResponse', protocol: request.protocol });
    } else if (level === 2) {
      if (settings.killRunCmd) actions.push(await this.#runCmd(settings.killRunCmd, values));
    } else {
      const hostsDeny = async () => {
        if (settings.killHostsDeny)
          actions.push(await this.#hostsDeny(settings, settings.killHostsDeny, values));
      };
      const route = async () => {
        if (settings.killRoute) actions.push(await this.#route(settings.killRoute, values));
      };
      const runCmd = async () => {
        if (settings.killRunCmd) actions.push(await this.#runCmd(settings.killRunCmd, values));
      };
      const order = settings.killRunCmdFirst ? [runCmd, hostsDeny, route] : [hostsDeny, route, runCmd];
      for (const step of order) await step();
    }
    const ok = actions.every((a) => a.ok);
    if (!ok)
      this.#deps.log.log({
        kind: 'couldNotBlock',
        mode: request.mode,
        host: request.host,
        address: request.address,
      });
    if (channels.response.hasSubscribers) channels.response.publish({ request, ok, actions });
    return { ok, actions };
  }

  async #hostsDeny(settings: Settings, template: string, values: MacroValues): Promise<ActionReport> {
    const line = substituteMacros(template, values);
    try {
      await this.#deps.addHostsDenyLine(settings.hostsDenyFile, line);
      this.#deps.log.log({ kind: 'blockedWrappers', address: values.target, line });
      return { key: 'KILL_HOSTS_DENY', ok: true, detail: line };
    } catch (err) {
      const reason = describeError(err);
      this.#deps.log.log({ kind: 'hostsDenyOpenFailed', path: settings.hostsDenyFile });
      this.#deps.log.log({ kind: 'hostsDenyBlockError', address: values.target });
      this.#deps.log.log({
        kind: 'actionFailedDetail',
        key: 'KILL_HOSTS_DENY',
        address: values.target,
        reason,
      });
      return { key: 'KILL_HOSTS_DENY', ok: false, detail: reason };
    }
  }

  #route(template: CommandTemplate, values: MacroValues): Promise<ActionReport> {
    return this.#command('KILL_ROUTE', template, values, 'blockedRoute', 'blockError');
  }

  #runCmd(template: CommandTemplate, values: MacroValues): Promise<ActionReport> {
    return this.#command('KILL_RUN_CMD', template, values, 'externalCommand', 'runCommandError');
  }

  /** Runs a command template and logs 1.2's success line, or its failure line plus the reason. */
  async #command(
    key: 'KILL_ROUTE' | 'KILL_RUN_CMD',
    template: CommandTemplate,
    values: MacroValues,
    success: 'blockedRoute' | 'externalCommand',
    failed: 'blockError' | 'runCommandError',
  ): Promise<ActionReport> {
    const command = substituteMacros(template.text, values);
    const failure = await this.#runSteps(template, values);
    if (failure === null) {
      this.#deps.log.log({ kind: success, address: values.target, command });
      return { key, ok: true, detail: command };
    }
    this.#deps.log.log({ kind: failed, address: values.target });
    this.#deps.log.log({ kind: 'actionFailedDetail', key, address: values.target, reason: failure });
    return { key, ok: false, detail: failure };
  }

  /** Runs each `&&` step in turn; returns null on success or the first failure's reason. */
  async #runSteps(template: CommandTemplate, values: MacroValues): Promise<string | null> {
    for (const argv of expandCommand(template, values)) {
      const result = await this.#deps.run(argv);
      if (!result.ok) return `${argv[0] ?? ''}: ${result.reason ?? 'failed'}`;
    }
    return null;
  }
}
