/**
 * @module respond/classic-responder
 * PortSentry 1.2's response to a scanner, with its order and its log lines: BLOCK_x=1 runs
 * KILL_HOSTS_DENY, KILL_ROUTE, then KILL_RUN_CMD (the command first with KILL_RUN_CMD_FIRST);
 * BLOCK_x=2 runs KILL_RUN_CMD only; BLOCK_x=0 only says it is ignoring the response. Unlike 1.2, an
 * action that fails (missing program, non-zero exit, unwritable file) makes the response fail, and a
 * failed response is never recorded as a block.
 *
 * With the nftables backend (BLOCK_BACKEND) the nft set element is the first action of BLOCK_x=1;
 * with `nft` alone it replaces KILL_HOSTS_DENY and KILL_ROUTE, and KILL_RUN_CMD still runs. lift()
 * is the way back: it undoes what a ban's backends did (nft element, UNKILL_ROUTE, the hosts.deny
 * line) and reports each step.
 */
import { ChannelNames, TypedChannel } from '../diagnostics.ts';
import type { Mode, Protocol } from '../detect/probe.ts';
import { describeError, ErrorCodes, PortsnareError } from '../errors.ts';
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
import type { NftBan } from './nft.ts';

/** The part of NftResponder a response needs. */
export interface NftBlocker {
  readonly table: string;
  block(bans: NftBan[]): Promise<void>;
  unblock(addresses: string[]): Promise<void>;
  flushSets?(): Promise<void>;
}

/** Names of the backends a ban can be enforced by, as kept in the ban store. */
export type BackendName = 'nft' | 'hosts.deny' | 'route' | 'cmd';

const BACKEND_OF: Record<ActionReport['key'], BackendName> = {
  NFT: 'nft',
  KILL_HOSTS_DENY: 'hosts.deny',
  KILL_ROUTE: 'route',
  KILL_RUN_CMD: 'cmd',
};

export function backendOf(key: ActionReport['key']): BackendName {
  return BACKEND_OF[key];
}

/** A ban as lift() and reapply() need it. */
export interface LiftTarget {
  address: string;
  backends: readonly string[];
  /** The first port and the mode, for templates using $PORT$ or $MODE$. */
  port: number;
  mode: string;
}

/** Addresses per nft run when many bans are added or removed at once. */
export const NFT_CHUNK = 50_000;

function macroValues(b: LiftTarget): MacroValues {
  return { target: b.address, port: b.port, mode: b.mode as MacroValues['mode'] };
}

export interface ResponseRequest {
  address: string;
  /** Resolved name or the address, for 1.2's `H/IP` texts. */
  host: string;
  port: number;
  mode: Mode | 'manual';
  protocol: Protocol;
  /** Seconds the nft element lasts; null or 0: until removed. */
  timeoutSeconds?: number | null;
}

export interface ActionReport {
  key: 'NFT' | 'KILL_HOSTS_DENY' | 'KILL_ROUTE' | 'KILL_RUN_CMD';
  ok: boolean;
  detail: string;
  /** True when it succeeded without changing anything (the hosts.deny line was already there). */
  alreadyThere?: boolean;
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
  /** Adds many hosts.deny lines at once, without duplicates (restore). */
  addHostsDenyLines?: (path: string, lines: string[]) => Promise<number>;
  /** Removes hosts.deny lines (lift); default: lifting hosts.deny lines is reported as unsupported. */
  removeHostsDenyLines?: (path: string, lines: string[]) => Promise<number>;
  /** The nftables backend, when BLOCK_BACKEND resolved to nft or both. */
  nft?: NftBlocker | null;
  /** False when BLOCK_BACKEND resolved to nft alone: KILL_HOSTS_DENY and KILL_ROUTE are skipped. Default true. */
  classic?: boolean;
}

/** What the responder publishes on `portsnare:response` for every finished response. */
export interface ResponseFinished {
  request: ResponseRequest;
  ok: boolean;
  actions: ActionReport[];
}

export const responseChannel = new TypedChannel<ResponseFinished>(ChannelNames.response);

export class ClassicResponder {
  readonly #deps: ResponderDeps;

  constructor(deps: ResponderDeps) {
    this.#deps = deps;
  }

  /** The backends respond() would use for this request (for a record written before it runs). */
  plan(request: Pick<ResponseRequest, 'mode' | 'protocol'>): BackendName[] {
    const settings = this.#deps.settings();
    const level = request.protocol === 'tcp' ? settings.blockTcp : settings.blockUdp;
    const classic = this.#deps.classic ?? true;
    const planned: BackendName[] = [];
    if (request.mode !== 'manual' && level === 0) return planned;
    if (request.mode === 'manual' || level === 1) {
      if (this.#deps.nft) planned.push('nft');
      if (classic && settings.killHostsDeny) planned.push('hosts.deny');
      if (classic && settings.killRoute) planned.push('route');
    }
    if (request.mode !== 'manual' && settings.killRunCmd) planned.push('cmd');
    return planned;
  }

  async respond(request: ResponseRequest): Promise<ResponseOutcome> {
    const settings = this.#deps.settings();
    const level = request.protocol === 'tcp' ? settings.blockTcp : settings.blockUdp;
    const values: MacroValues = { target: request.address, port: request.port, mode: request.mode };
    const actions: ActionReport[] = [];
    const classic = this.#deps.classic ?? true;
    const nft = this.#deps.nft ?? null;

    if (request.mode === 'manual') {
      // `portsnare block`: the blocking backends only; KILL_RUN_CMD belongs to detected scans.
      if (nft) actions.push(await this.#nft(nft, request));
      if (classic && settings.killHostsDeny)
        actions.push(await this.#hostsDeny(settings, settings.killHostsDeny, values));
      if (classic && settings.killRoute) actions.push(await this.#route(settings.killRoute, values));
    } else if (level === 0) {
      this.#deps.log.log({ kind: 'ignoringResponse', protocol: request.protocol });
    } else if (level === 2) {
      if (settings.killRunCmd) actions.push(await this.#runCmd(settings.killRunCmd, values));
    } else {
      const hostsDeny = async () => {
        if (nft) actions.push(await this.#nft(nft, request));
        if (classic && settings.killHostsDeny)
          actions.push(await this.#hostsDeny(settings, settings.killHostsDeny, values));
      };
      const route = async () => {
        if (classic && settings.killRoute) actions.push(await this.#route(settings.killRoute, values));
      };
      const runCmd = async () => {
        if (settings.killRunCmd) actions.push(await this.#runCmd(settings.killRunCmd, values));
      };
      const order = settings.killRunCmdFirst ? [runCmd, hostsDeny, route] : [hostsDeny, route, runCmd];
      for (const step of order) await step();
    }
    const ok = actions.every((a) => a.ok);
    if (!ok && request.mode !== 'manual')
      this.#deps.log.log({
        kind: 'couldNotBlock',
        mode: request.mode,
        host: request.host,
        address: request.address,
      });
    responseChannel.publish({ request, ok, actions });
    return { ok, actions };
  }

  /**
   * Undoes bans in their backends, batched: one nft run per NFT_CHUNK addresses, one hosts.deny
   * rewrite, UNKILL_ROUTE per ban. Each failure is logged; none stops the others. Returns, per
   * address, the backends that were undone.
   */
  async lift(bans: readonly LiftTarget[]): Promise<Map<string, BackendName[]>> {
    const settings = this.#deps.settings();
    const undone = new Map<string, BackendName[]>(bans.map((b) => [b.address, []]));
    const done = (address: string, backend: BackendName) => undone.get(address)?.push(backend);
    const failed = (address: string, backend: string, err: unknown) =>
      this.#deps.log.log({ kind: 'unblockFailed', address, backend, reason: describeError(err) });

    const viaNft = bans.filter((b) => b.backends.includes('nft'));
    if (viaNft.length > 0) {
      const nft = this.#deps.nft;
      for (let i = 0; i < viaNft.length; i += NFT_CHUNK) {
        const chunk = viaNft.slice(i, i + NFT_CHUNK);
        try {
          if (!nft)
            throw new PortsnareError(
              ErrorCodes.BACKEND_UNAVAILABLE,
              'the nftables backend is not in use (BLOCK_BACKEND)',
            );
          await nft.unblock(chunk.map((b) => b.address));
          for (const b of chunk) done(b.address, 'nft');
        } catch (err) {
          for (const b of chunk) failed(b.address, 'nftables', err);
        }
      }
    }
    const viaHostsDeny = bans.filter((b) => b.backends.includes('hosts.deny'));
    if (viaHostsDeny.length > 0) {
      const template = settings.killHostsDeny;
      try {
        const remove = this.#deps.removeHostsDenyLines;
        if (!remove)
          throw new PortsnareError(
            ErrorCodes.BACKEND_UNAVAILABLE,
            'removing hosts.deny lines is not supported here',
          );
        if (!template)
          throw new PortsnareError(
            ErrorCodes.BACKEND_UNAVAILABLE,
            'KILL_HOSTS_DENY is empty, so the line to remove is unknown',
          );
        const lines = viaHostsDeny.map((b) => substituteMacros(template, macroValues(b)));
        await remove(settings.hostsDenyFile, lines);
        for (const b of viaHostsDeny) done(b.address, 'hosts.deny');
      } catch (err) {
        for (const b of viaHostsDeny) failed(b.address, settings.hostsDenyFile, err);
      }
    }
    for (const b of bans) {
      if (!b.backends.includes('route')) continue;
      const undo = settings.unkillRoute;
      if (!undo) {
        failed(
          b.address,
          'KILL_ROUTE',
          new PortsnareError(
            ErrorCodes.BACKEND_UNAVAILABLE,
            'UNKILL_ROUTE is empty; remove the route by hand',
          ),
        );
        continue;
      }
      const failure = await this.#runSteps(undo, macroValues(b));
      if (failure === null) done(b.address, 'route');
      else failed(b.address, 'UNKILL_ROUTE', new PortsnareError(ErrorCodes.COMMAND_FAILED, failure));
    }
    return undone;
  }

  /**
   * `flush`: empties portsnare's nft sets. Everything in our own table is ours, including elements a
   * crash left unrecorded; nothing outside it is touched.
   */
  async emptyNftSets(): Promise<void> {
    try {
      await this.#deps.nft?.flushSets?.();
    } catch (err) {
      this.#deps.log.log({ kind: 'nftError', reason: describeError(err) });
    }
  }

  /**
   * Puts restored bans back after a restart: nft elements with what is left of their time (batched),
   * missing hosts.deny lines (one rewrite, no duplicates) and, when `routes` (the host rebooted, so
   * the kernel forgot them), KILL_ROUTE again. Returns how many actions failed (each is logged).
   */
  async reapply(
    bans: readonly (LiftTarget & { secondsLeft: number | null })[],
    routes: boolean,
    /** The responses were cut off (a crash): a route may or may not exist, so undo it first. */
    interrupted = false,
  ): Promise<number> {
    const settings = this.#deps.settings();
    let failures = 0;
    const failed = (address: string, backend: string, err: unknown, count = 1) => {
      failures += count;
      this.#deps.log.log({ kind: 'actionFailedDetail', key: backend, address, reason: describeError(err) });
    };
    const viaNft = bans.filter((b) => b.backends.includes('nft'));
    for (let i = 0; i < viaNft.length; i += NFT_CHUNK) {
      const chunk = viaNft.slice(i, i + NFT_CHUNK);
      try {
        const nft = this.#deps.nft;
        if (!nft)
          throw new PortsnareError(
            ErrorCodes.BACKEND_UNAVAILABLE,
            'stored bans use nftables, which is not in use now (BLOCK_BACKEND)',
          );
        await nft.block(chunk.map((b) => ({ address: b.address, timeoutSeconds: b.secondsLeft ?? 0 })));
      } catch (err) {
        failed(
          chunk.length === 1 ? (chunk[0]?.address ?? '') : `${chunk.length} addresses`,
          'NFT',
          err,
          chunk.length,
        );
      }
    }
    const viaHostsDeny = bans.filter((b) => b.backends.includes('hosts.deny'));
    const template = settings.killHostsDeny;
    if (viaHostsDeny.length > 0 && template) {
      try {
        await this.#deps.addHostsDenyLines?.(
          settings.hostsDenyFile,
          viaHostsDeny.map((b) => substituteMacros(template, macroValues(b))),
        );
      } catch (err) {
        failed(`${viaHostsDeny.length} addresses`, 'KILL_HOSTS_DENY', err, viaHostsDeny.length);
      }
    }
    if (routes && settings.killRoute) {
      for (const b of bans) {
        if (!b.backends.includes('route')) continue;
        // UNKILL_ROUTE first (its failure only means there was nothing to undo), so the route is
        // there once whether or not the interrupted KILL_ROUTE had run.
        if (interrupted && settings.unkillRoute) await this.#runSteps(settings.unkillRoute, macroValues(b));
        const failure = await this.#runSteps(settings.killRoute, macroValues(b));
        if (failure !== null)
          failed(b.address, 'KILL_ROUTE', new PortsnareError(ErrorCodes.COMMAND_FAILED, failure));
      }
    }
    return failures;
  }

  async #nft(nft: NftBlocker, request: ResponseRequest): Promise<ActionReport> {
    const seconds = request.timeoutSeconds ? request.timeoutSeconds : null;
    const set = `inet ${nft.table} ${request.address.includes(':') ? 'blocked6' : 'blocked4'}`;
    try {
      await nft.block([{ address: request.address, timeoutSeconds: seconds ?? 0 }]);
      this.#deps.log.log({ kind: 'blockedNft', address: request.address, set, seconds });
      return { key: 'NFT', ok: true, detail: set };
    } catch (err) {
      const reason = describeError(err);
      this.#deps.log.log({ kind: 'blockError', address: request.address });
      this.#deps.log.log({ kind: 'actionFailedDetail', key: 'NFT', address: request.address, reason });
      return { key: 'NFT', ok: false, detail: reason };
    }
  }

  async #hostsDeny(settings: Settings, template: string, values: MacroValues): Promise<ActionReport> {
    const line = substituteMacros(template, values);
    try {
      const outcome = await this.#deps.addHostsDenyLine(settings.hostsDenyFile, line);
      this.#deps.log.log({ kind: 'blockedWrappers', address: values.target, line });
      return { key: 'KILL_HOSTS_DENY', ok: true, detail: line, alreadyThere: outcome === 'present' };
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
