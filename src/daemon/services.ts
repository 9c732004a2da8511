/**
 * @module daemon/services
 * The running daemon's services, in start order: the state directory, the ban store (its lock
 * first of all), the record files, the restored bans, the pid file, draining the alerts in flight at shutdown, the
 * timers (daemon/housekeeping), the sensors, and the control socket. Each starts, stops and (where
 * it applies) reloads one thing; the order is the daemon's (stops run in reverse).
 */
import { mkdir, rm } from 'node:fs/promises';
import { ControlServer } from '../control/server.ts';
import { describeError, ErrorCodes, PortsnareError } from '../errors.ts';
import { checkStateDirTrust, formatTrustProblems, writeStateFile } from '../state/dir-trust.ts';
import { StateNames, statePaths } from '../state/state-dir.ts';
import { controlHandler, type ControlTarget } from './control-handler.ts';
import type { AlertMailer } from './alert-mail.ts';
import { housekeeping, type HousekeepingTimings } from './housekeeping.ts';
import { rootPeerCheck } from './peer-check.ts';
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
  /** The immediate alert mail, told of every new ban. */
  alertMail: AlertMailer;
}

/** STATE_DIR, created if need be. */
function stateDir(stack: Stack): Service {
  return {
    name: 'state directory',
    async start() {
      const dir = stack.settings.stateDir;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // Checked at start-up already (config/path-checks); again now that every part exists.
      const problems = checkStateDirTrust(dir);
      if (problems.length > 0) {
        throw new PortsnareError(
          ErrorCodes.UNSAFE_PATH,
          `STATE_DIR cannot be trusted: ${formatTrustProblems(problems).join('; ')}`,
        );
      }
    },
    stop: () => Promise.resolve(),
  };
}

/**
 * The backends and the ban store, whose lock is STATE_DIR's: it comes before any record file is
 * touched, so a refused second start leaves the running daemon's files alone (it used to empty
 * its blocked files first).
 */
function banStore(stack: Stack): Service {
  return {
    name: 'ban store',
    start: () => stack.bans.startOpen(),
    stop: () => stack.bans.close(true),
  };
}

/** HISTORY_FILE's directory, each mode's blocked file emptied (1.2's start). */
function files(stack: Stack): Service {
  return {
    name: 'files',
    start: () => stack.reporter.open(),
    stop: () => Promise.resolve(),
  };
}

/** The stored bans put back in force. */
function restore(stack: Stack): Service {
  return {
    name: 'restored bans',
    start: () => stack.bans.restore(),
    stop: () => Promise.resolve(),
  };
}

function pidFile(stack: Stack): Service {
  const path = statePaths(stack.settings.stateDir).pidFile;
  let written = false;
  return {
    name: 'pid file',
    async start() {
      written = true;
      // Never through a symlink or into someone else's file (state/dir-trust).
      await writeStateFile(stack.settings.stateDir, StateNames.pidFile, `${process.pid}\n`, { mode: 0o644 });
    },
    async stop() {
      if (written) await rm(path, { force: true });
    },
  };
}

/**
 * The alert mail: its rate-limit stamp read back, then told of every new ban. Stopped after the
 * alerts in flight drained (their bans still count), giving a mail under way DRAIN_MS.
 */
function alertMail(stack: Stack, mailer: AlertMailer): Service {
  let unsubscribe: (() => void) | null = null;
  return {
    name: 'alert mail',
    async start() {
      await mailer.load();
      unsubscribe = stack.onBanned((ban) => mailer.blocked(ban));
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = null;
      await mailer.close(DRAIN_MS);
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
        {
          onError: (err) => log.log({ kind: 'controlError', reason: describeError(err) }),
          verifyPeer: rootPeerCheck(),
        },
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
    stateDir(stack),
    banStore(stack),
    files(stack),
    restore(stack),
    pidFile(stack),
    alertMail(stack, opts.alertMail),
    drain(stack),
    housekeeping(stack, opts.timings),
    sensors(stack),
    ...(opts.control ? [control(stack, opts.target)] : []),
  ];
}
