/**
 * @module detect/detector
 * The pure detection core: judges one probe event against the never-act-on lists and the scan
 * trigger. No I/O, no clock of its own; the daemon and `replay` feed it the same way.
 */
import { channels } from '../diagnostics.ts';
import type { CidrSet } from '../net/cidr-set.ts';
import type { ProbeEvent } from './probe.ts';
import { TriggerCounter } from './trigger.ts';

export type Verdict =
  | { kind: 'ignored'; reason: 'ignore-list' | 'own-address' }
  | { kind: 'below-trigger'; count: number }
  | { kind: 'alert'; count: number };

export interface DetectorLists {
  /** Entries of the ignore file. */
  ignore: CidrSet;
  /** The host's own addresses and loopback. */
  own: CidrSet;
}

export class Detector {
  #lists: DetectorLists;
  #trigger: TriggerCounter;

  constructor(lists: DetectorLists, scanTrigger: number, maxTrackedSources?: number) {
    this.#lists = lists;
    this.#trigger = new TriggerCounter(scanTrigger, maxTrackedSources);
  }

  /** Swaps the lists (SIGHUP); a changed trigger starts counting afresh. */
  reconfigure(lists: DetectorLists, scanTrigger: number): void {
    this.#lists = lists;
    if (scanTrigger !== this.#trigger.trigger) this.#trigger = new TriggerCounter(scanTrigger);
  }

  judge(event: ProbeEvent): Verdict {
    const verdict = this.#judge(event);
    if (channels.probe.hasSubscribers) channels.probe.publish({ event, verdict });
    return verdict;
  }

  #judge(event: ProbeEvent): Verdict {
    if (this.#lists.own.has(event.source)) return { kind: 'ignored', reason: 'own-address' };
    if (this.#lists.ignore.has(event.source)) return { kind: 'ignored', reason: 'ignore-list' };
    const { count, fired } = this.#trigger.hit(event.source);
    return fired ? { kind: 'alert', count } : { kind: 'below-trigger', count };
  }
}
