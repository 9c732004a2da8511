/**
 * @module respond/backends/route
 * The KILL_ROUTE backend: a ban is a route the template adds (a blackhole, typically), undone with
 * UNKILL_ROUTE, one command per ban. After a restart it is redone only when the kernel forgot it (a
 * reboot), or when a crash cut the response off (then UNKILL_ROUTE first, so it exists once).
 */
import { describeError, ErrorCodes, PortsnareError } from '../../errors.ts';
import {
  macroValues,
  type ActionReport,
  type Backend,
  type LiftTarget,
  type ReapplyOptions,
  type ReapplyTarget,
  type ResponseRequest,
} from '../backend.ts';
import { commandAction } from './command-action.ts';
import { runSteps, type BackendContext } from './context.ts';

export class RouteBackend implements Backend {
  readonly name = 'route';
  readonly key = 'KILL_ROUTE';
  readonly blocks = true;
  readonly #ctx: BackendContext;
  /** False when BLOCK_BACKEND resolved to nft alone. */
  readonly #classic: boolean;

  constructor(ctx: BackendContext, classic = true) {
    this.#ctx = ctx;
    this.#classic = classic;
  }

  inUse(): boolean {
    return this.#classic && Boolean(this.#ctx.settings().killRoute);
  }

  describe(): string {
    return this.inUse()
      ? `KILL_ROUTE: ${this.#ctx.settings().killRoute?.text ?? ''}`
      : 'KILL_ROUTE: not in use';
  }

  async block(request: ResponseRequest): Promise<ActionReport> {
    const template = this.#ctx.settings().killRoute;
    if (!template) return { key: 'KILL_ROUTE', ok: false, detail: 'KILL_ROUTE is empty' };
    return commandAction(
      this.#ctx,
      'KILL_ROUTE',
      template,
      macroValues(request),
      'blockedRoute',
      'blockError',
    );
  }

  async lift(bans: readonly LiftTarget[]): Promise<string[]> {
    const undone: string[] = [];
    for (const b of bans) {
      const undo = this.#ctx.settings().unkillRoute;
      const failure = undo
        ? await runSteps(this.#ctx.run, undo, macroValues(b))
        : 'UNKILL_ROUTE is empty; remove the route by hand';
      if (failure === null) {
        undone.push(b.address);
        continue;
      }
      const err = undo
        ? new PortsnareError(ErrorCodes.COMMAND_FAILED, failure)
        : new PortsnareError(ErrorCodes.BACKEND_UNAVAILABLE, failure);
      const backend = undo ? 'UNKILL_ROUTE' : 'KILL_ROUTE';
      this.#ctx.log.log({ kind: 'unblockFailed', address: b.address, backend, reason: describeError(err) });
    }
    return undone;
  }

  async reapply(bans: readonly ReapplyTarget[], options: ReapplyOptions): Promise<number> {
    const settings = this.#ctx.settings();
    const template = settings.killRoute;
    if (!options.routes || !template) return 0;
    let failures = 0;
    for (const b of bans) {
      // UNKILL_ROUTE first (its failure only means there was nothing to undo), so the route is
      // there once whether or not the interrupted KILL_ROUTE had run.
      if (options.interrupted && settings.unkillRoute) {
        await runSteps(this.#ctx.run, settings.unkillRoute, macroValues(b));
      }
      const failure = await runSteps(this.#ctx.run, template, macroValues(b));
      if (failure === null) continue;
      failures++;
      const reason = describeError(new PortsnareError(ErrorCodes.COMMAND_FAILED, failure));
      this.#ctx.log.log({ kind: 'actionFailedDetail', key: 'KILL_ROUTE', address: b.address, reason });
    }
    return failures;
  }
}
