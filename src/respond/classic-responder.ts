/**
 * @module respond/classic-responder
 * PortSentry 1.2's response to a scanner, with its order and its log lines, over a list of Backends
 * (respond/backend): BLOCK_x=1 runs the blocking backends (the nft set element first, then
 * KILL_HOSTS_DENY, KILL_ROUTE), then KILL_RUN_CMD (the command first with KILL_RUN_CMD_FIRST);
 * BLOCK_x=2 runs KILL_RUN_CMD only; BLOCK_x=0 only says it is ignoring the response. Unlike 1.2, an
 * action that fails (missing program, non-zero exit, unwritable file) makes the response fail, and a
 * failed response is never recorded as a block. With `nft` alone (BLOCK_BACKEND) hosts.deny and
 * routes are not in use and KILL_RUN_CMD still runs. lift() is the way back: each backend a ban was
 * recorded with undoes it. This module only orders and publishes; what a backend does is its own.
 *
 * Nothing is logged as blocked before it is: the lines the backends log during a response are held
 * until the whole response is known. A response that worked logs them in order, as 1.2 does; a failed
 * one (which the ban keeper undoes) logs them without the "has been blocked" lines of the backends it
 * will undo, then "Could not block host".
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ChannelNames, TypedChannel } from '../diagnostics.ts';
import type { AlertLog } from '../report/alert-log.ts';
import type { LogMessage } from '../report/messages.ts';
import type { Settings } from '../config/settings.ts';
import type { CommandRunner } from './exec.ts';
import type { HostsDenyOutcome } from './hosts-deny.ts';
import type {
  ActionReport,
  Backend,
  BackendName,
  LiftTarget,
  ReapplyTarget,
  ResponseRequest,
} from './backend.ts';
import { HostsDenyBackend } from './backends/hosts-deny.ts';
import { NftBackend, type NftBlocker } from './backends/nft.ts';
import { RouteBackend } from './backends/route.ts';
import { RunCmdBackend } from './backends/run-cmd.ts';

export { backendOf } from './backend.ts';
export type { ActionReport, BackendName, LiftTarget, ReapplyTarget, ResponseRequest } from './backend.ts';
export { NFT_CHUNK, type NftBlocker } from './backends/nft.ts';

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

/** The lines held for the response running in this async context (see respond()). */
interface Held {
  lines: LogMessage[];
  /** False once respond() has released them: a timer a backend started meanwhile logs straight out. */
  open: boolean;
}
const heldLines = new AsyncLocalStorage<Held>();

/** The backends' log: during a response its lines are held, otherwise they go straight out. */
function holdingLog(log: AlertLog): AlertLog {
  return {
    log: (message) => {
      const held = heldLines.getStore();
      if (held?.open) held.lines.push(message);
      else log.log(message);
    },
    close: () => log.close(),
  };
}

/** A backend's "has been blocked" line, by the key of the action that claims it. */
const CLAIMS: Partial<Record<LogMessage['kind'], ActionReport['key']>> = {
  blockedNft: 'NFT',
  blockedWrappers: 'KILL_HOSTS_DENY',
  blockedRoute: 'KILL_ROUTE',
};

export interface RespondOptions {
  /** Logged first, and only if some backend took the response (`portsnare block`'s "blocked on request"). */
  announce?: LogMessage;
}

/** The four backends of a ClassicResponder, in 1.2's order (nft first, then hosts.deny, route, command). */
export function classicBackends(deps: ResponderDeps): {
  backends: Backend[];
  nft: NftBackend;
} {
  const ctx = { settings: deps.settings, log: holdingLog(deps.log), run: deps.run };
  const classic = deps.classic ?? true;
  const nft = new NftBackend(ctx, deps.nft ?? null);
  const file = {
    addLine: deps.addHostsDenyLine,
    ...(deps.addHostsDenyLines && { addLines: deps.addHostsDenyLines }),
    ...(deps.removeHostsDenyLines && { removeLines: deps.removeHostsDenyLines }),
  };
  const backends = [
    nft,
    new HostsDenyBackend(ctx, file, classic),
    new RouteBackend(ctx, classic),
    new RunCmdBackend(ctx),
  ];
  return { backends, nft };
}

export class ClassicResponder {
  readonly #deps: ResponderDeps;
  readonly #backends: readonly Backend[];
  readonly #nft: NftBackend;

  constructor(deps: ResponderDeps) {
    this.#deps = deps;
    const { backends, nft } = classicBackends(deps);
    this.#backends = backends;
    this.#nft = nft;
  }

  /** The backends, in order, and what each does now (status, replay). */
  describe(): { name: BackendName; inUse: boolean; text: string }[] {
    return this.#backends.map((b) => ({ name: b.name, inUse: b.inUse(), text: b.describe() }));
  }

  /** The backends in use that respond() runs for this request, in 1.2's order of runs. */
  #steps(request: Pick<ResponseRequest, 'mode' | 'protocol'>): Backend[] {
    const settings = this.#deps.settings();
    const level = request.protocol === 'tcp' ? settings.blockTcp : settings.blockUdp;
    const blockers = this.#backends.filter((b) => b.blocks && b.inUse());
    const commands = this.#backends.filter((b) => !b.blocks && b.inUse());
    if (request.mode === 'manual') return blockers; // KILL_RUN_CMD belongs to detected scans
    if (level === 0) return [];
    if (level === 2) return commands;
    return settings.killRunCmdFirst ? [...commands, ...blockers] : [...blockers, ...commands];
  }

  /** The backends respond() would use for this request (for a record written before it runs). */
  plan(request: Pick<ResponseRequest, 'mode' | 'protocol'>): BackendName[] {
    const steps = new Set(this.#steps(request));
    return this.#backends.filter((b) => steps.has(b)).map((b) => b.name);
  }

  async respond(request: ResponseRequest, opts: RespondOptions = {}): Promise<ResponseOutcome> {
    const settings = this.#deps.settings();
    const level = request.protocol === 'tcp' ? settings.blockTcp : settings.blockUdp;
    const actions: ActionReport[] = [];
    if (request.mode !== 'manual' && level === 0) {
      this.#deps.log.log({ kind: 'ignoringResponse', protocol: request.protocol });
    }
    const held: Held = { lines: [], open: true };
    try {
      await heldLines.run(held, async () => {
        for (const backend of this.#steps(request)) actions.push(await backend.block(request));
      });
    } catch (err) {
      // A backend reports failures as values; should one throw, what it said is still said.
      for (const message of held.lines) this.#deps.log.log(message);
      throw err;
    } finally {
      held.open = false;
    }
    const ok = actions.every((a) => a.ok);
    if (ok) {
      if (opts.announce && actions.length > 0) this.#deps.log.log(opts.announce);
      for (const message of held.lines) this.#deps.log.log(message);
    } else {
      // What the keeper undoes was never blocked as far as anyone reading the log is concerned.
      const undone = new Set(actions.filter((a) => a.ok && !a.alreadyThere).map((a) => a.key));
      for (const message of held.lines) {
        const claim = CLAIMS[message.kind];
        if (claim === undefined || !undone.has(claim)) this.#deps.log.log(message);
      }
    }
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
   * Undoes bans in their backends, batched as each can (one nft run per NFT_CHUNK addresses, one
   * hosts.deny rewrite, UNKILL_ROUTE per ban). Each failure is logged; none stops the others.
   * Returns, per address, the backends that were undone.
   */
  async lift(bans: readonly LiftTarget[]): Promise<Map<string, BackendName[]>> {
    const undone = new Map<string, BackendName[]>(bans.map((b) => [b.address, []]));
    for (const backend of this.#backends) {
      const mine = bans.filter((b) => b.backends.includes(backend.name));
      if (mine.length === 0) continue;
      for (const address of await backend.lift(mine)) undone.get(address)?.push(backend.name);
    }
    return undone;
  }

  /**
   * `flush`: empties portsnare's nft sets. Everything in our own table is ours, including elements a
   * crash left unrecorded; nothing outside it is touched.
   */
  emptyNftSets(): Promise<void> {
    return this.#nft.emptySets();
  }

  /**
   * Puts restored bans back after a restart: nft elements with what is left of their time (batched),
   * missing hosts.deny lines (one rewrite, no duplicates) and, when `routes` (the host rebooted, so
   * the kernel forgot them), KILL_ROUTE again. Returns how many actions failed (each is logged).
   */
  async reapply(
    bans: readonly ReapplyTarget[],
    routes: boolean,
    /** The responses were cut off (a crash): a route may or may not exist, so undo it first. */
    interrupted = false,
  ): Promise<number> {
    let failures = 0;
    for (const backend of this.#backends) {
      const mine = bans.filter((b) => b.backends.includes(backend.name));
      if (mine.length > 0) failures += await backend.reapply(mine, { routes, interrupted });
    }
    return failures;
  }
}
