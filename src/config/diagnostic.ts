/**
 * @module config/diagnostic
 * A problem found in an input file: where it is (file, line, key) and how bad. Errors stop a start
 * before anything is bound or blocked; warnings are reported and the start goes on.
 */

export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  /** 1-based line number; 0 when the problem is about the file as a whole. */
  line: number;
  key?: string;
  message: string;
}

/** `file:line: KEY: message`, the form used on stderr, in syslog and by check-config. */
export function diagnosticWhere(d: Diagnostic): string {
  return `${d.file}${d.line > 0 ? `:${d.line}` : ''}${d.key ? `: ${d.key}` : ''}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.severity}: ${diagnosticWhere(d)}: ${d.message}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
