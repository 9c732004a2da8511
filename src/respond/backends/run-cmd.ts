/**
 * @module respond/backends/run-cmd
 * The KILL_RUN_CMD backend: runs the template for a detected scan (BLOCK_x=1 or 2, never for a ban
 * by hand). It has no undo and nothing to put back: lift and reapply do nothing.
 */
import { macroValues, type ActionReport, type Backend, type ResponseRequest } from '../backend.ts';
import { commandAction } from './command-action.ts';
import type { BackendContext } from './context.ts';

export class RunCmdBackend implements Backend {
  readonly name = 'cmd';
  readonly key = 'KILL_RUN_CMD';
  readonly blocks = false;
  readonly #ctx: BackendContext;

  constructor(ctx: BackendContext) {
    this.#ctx = ctx;
  }

  inUse(): boolean {
    return Boolean(this.#ctx.settings().killRunCmd);
  }

  describe(): string {
    return this.inUse()
      ? `KILL_RUN_CMD: ${this.#ctx.settings().killRunCmd?.text ?? ''}`
      : 'KILL_RUN_CMD: not in use';
  }

  async block(request: ResponseRequest): Promise<ActionReport> {
    const template = this.#ctx.settings().killRunCmd;
    if (!template) return { key: 'KILL_RUN_CMD', ok: false, detail: 'KILL_RUN_CMD is empty' };
    return commandAction(
      this.#ctx,
      'KILL_RUN_CMD',
      template,
      macroValues(request),
      'externalCommand',
      'runCommandError',
    );
  }

  lift(): Promise<string[]> {
    return Promise.resolve([]);
  }

  reapply(): Promise<number> {
    return Promise.resolve(0);
  }
}
