/**
 * @module report/config-problems
 * Configuration diagnostics as log messages (one `configProblem` each, with where it was found),
 * for the start and SIGHUP.
 */
import { diagnosticWhere, type Diagnostic } from '../config/diagnostic.ts';
import type { AlertLog } from './reporter.ts';

export function logDiagnostics(log: AlertLog, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    log.log({ kind: 'configProblem', severity: d.severity, where: diagnosticWhere(d), text: d.message });
  }
}
