/**
 * @module daemon/services
 * The running daemon's services, in start order: the state directory and the record files, the
 * bans (backends, store, restore), the pid file, draining the alerts in flight at shutdown, the
 * timers (daemon/housekeeping), the sensors, and the control socket. Each starts, stops and (where
 * it applies) reloads one thing; the order is the daemon's (stops run in reverse).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { ControlServer } from '../control/server.ts';
import { describeError } from '../errors.ts';
import { statePaths } from '../state/state-dir.ts';
import { controlHandler, type ControlTarget } from './control-handler.ts';
import { housekeeping, type HousekeepingTimings } from './housekeeping.ts';
import type { Service } from './service.ts';
import type { Stack } from './stack.ts';

/** How long shutdown waits for responses under way. */
export const DRAIN_MS = 5000;

export interface ServiceOptions {
  timings: HousekeepingTimings;
  /** Open the control socket in STATE_DIR. */
  control: boolean;
  /** What the control socket answers from. */
  target: ControlTarget;
}

/** STATE_DIR, HISTORY_FILE's directory, each mode's blocked file emptied (1.2's start). */
function files(stack: Stack): Service {
  return {
    name: 'files',
    async start() {
      await mkdir(stack.settings.stateDir, { recursive: true, mode: 0o700 });
      await stack.reporter.open();
    },
    stop: () => Promise.resolve(),
  };
}

function bans(stack: Stack): Service {
  return {
    name: 'bans',
    start: () => stack.bans.start(),
    stop: () => stack.bans.close(true),
  };
}

function pidFile(stack: Stack): Service {
  const path = statePaths(stack.settings.stateDir).pidFile;
  let written = false;
  return {
    name: 'pid file',
    async start() {
      written = true;
      await writeFile(path, `${process.pid}\n`, { mode: 0o644 });
    },
    async stop() {
      if (written) await rm(path, { force: true });
    },
  };
}

/** Nothing to start; at shutdown the alerts in flight get DRAIN_MS to finish before the store closes. */
function drain(stack: Stack): Service {
  return {
    name: 'alerts in flight',
    start: () => Promise.resolve(),
    stop: () => stack.alerts.drain(DRAIN_MS),
  };
}

function sensors(stack: Stack): Service {
  return {
    name: 'sensors',
    async start() {
      for (const sensor of stack.makeSensors()) await sensor.start();
    },
    async stop() {
      for (const sensor of stack.sensors) await sensor.close();
      stack.dropSensors();
    },
  };
}

function control(stack: Stack, target: ControlTarget): Service {
  let server: ControlServer | null = null;
  return {
    name: 'control socket',
    async start() {
      const log = stack.reporter;
      server = await ControlServer.listen(
        statePaths(stack.settings.stateDir).socket,
        controlHandler(target, new Date()),
        (err) => log.log({ kind: 'controlError', reason: describeError(err) }),
      );
      log.log({ kind: 'controlListening', path: server.path });
    },
    async stop() {
      await server?.close();
      server = null;
    },
  };
}

export function daemonServices(stack: Stack, opts: ServiceOptions): Service[] {
  return [
    files(stack),
    bans(stack),
    pidFile(stack),
    drain(stack),
    housekeeping(stack, opts.timings),
    sensors(stack),
    ...(opts.control ? [control(stack, opts.target)] : []),
  ];
}
