/**
 * @module respond/backends/hosts-deny
 * The KILL_HOSTS_DENY backend: a ban is the template's line in HOSTS_DENY_FILE (respond/hosts-deny
 * edits the file). Many lines are added or removed in one rewrite. Not the file editing itself.
 */
import { substituteMacros } from '../../config/command-template.ts';
import { describeError, ErrorCodes, PortsnareError } from '../../errors.ts';
import type { HostsDenyOutcome } from '../hosts-deny.ts';
import {
  macroValues,
  type ActionReport,
  type Backend,
  type LiftTarget,
  type ReapplyTarget,
  type ResponseRequest,
} from '../backend.ts';
import type { BackendContext } from './context.ts';

export interface HostsDenyFile {
  addLine: (path: string, line: string) => Promise<HostsDenyOutcome>;
  /** Adds many lines at once, without duplicates (restore); default: restore adds none. */
  addLines?: (path: string, lines: string[]) => Promise<number>;
  /** Removes lines (lift); default: lifting hosts.deny lines is reported as unsupported. */
  removeLines?: (path: string, lines: string[]) => Promise<number>;
}

export class HostsDenyBackend implements Backend {
  readonly name = 'hosts.deny';
  readonly key = 'KILL_HOSTS_DENY';
  readonly blocks = true;
  readonly #ctx: BackendContext;
  readonly #file: HostsDenyFile;
  /** False when BLOCK_BACKEND resolved to nft alone. */
  readonly #classic: boolean;

  constructor(ctx: BackendContext, file: HostsDenyFile, classic = true) {
    this.#ctx = ctx;
    this.#file = file;
    this.#classic = classic;
  }

  inUse(): boolean {
    return this.#classic && Boolean(this.#ctx.settings().killHostsDeny);
  }

  describe(): string {
    const settings = this.#ctx.settings();
    return this.inUse()
      ? `${settings.hostsDenyFile}: ${settings.killHostsDeny ?? ''}`
      : 'hosts.deny: not in use';
  }

  async block(request: ResponseRequest): Promise<ActionReport> {
    const settings = this.#ctx.settings();
    const values = macroValues(request);
    const line = substituteMacros(settings.killHostsDeny ?? '', values);
    try {
      const outcome = await this.#file.addLine(settings.hostsDenyFile, line);
      this.#ctx.log.log({ kind: 'blockedWrappers', address: values.target, line });
      return { key: 'KILL_HOSTS_DENY', ok: true, detail: line, alreadyThere: outcome === 'present' };
    } catch (err) {
      const reason = describeError(err);
      this.#ctx.log.log({ kind: 'hostsDenyOpenFailed', path: settings.hostsDenyFile });
      this.#ctx.log.log({ kind: 'hostsDenyBlockError', address: values.target });
      this.#ctx.log.log({
        kind: 'actionFailedDetail',
        key: 'KILL_HOSTS_DENY',
        address: values.target,
        reason,
      });
      return { key: 'KILL_HOSTS_DENY', ok: false, detail: reason };
    }
  }

  async lift(bans: readonly LiftTarget[]): Promise<string[]> {
    const settings = this.#ctx.settings();
    const template = settings.killHostsDeny;
    try {
      const remove = this.#file.removeLines;
      if (!remove) throw unavailable('removing hosts.deny lines is not supported here');
      if (!template) throw unavailable('KILL_HOSTS_DENY is empty, so the line to remove is unknown');
      await remove(
        settings.hostsDenyFile,
        bans.map((b) => substituteMacros(template, macroValues(b))),
      );
      return bans.map((b) => b.address);
    } catch (err) {
      const reason = describeError(err);
      for (const b of bans) {
        this.#ctx.log.log({
          kind: 'unblockFailed',
          address: b.address,
          backend: settings.hostsDenyFile,
          reason,
        });
      }
      return [];
    }
  }

  async reapply(bans: readonly ReapplyTarget[]): Promise<number> {
    const settings = this.#ctx.settings();
    const template = settings.killHostsDeny;
    if (bans.length === 0 || !template) return 0;
    try {
      await this.#file.addLines?.(
        settings.hostsDenyFile,
        bans.map((b) => substituteMacros(template, macroValues(b))),
      );
      return 0;
    } catch (err) {
      this.#ctx.log.log({
        kind: 'actionFailedDetail',
        key: 'KILL_HOSTS_DENY',
        address: `${bans.length} addresses`,
        reason: describeError(err),
      });
      return bans.length;
    }
  }
}

function unavailable(text: string): PortsnareError {
  return new PortsnareError(ErrorCodes.BACKEND_UNAVAILABLE, text);
}
