/**
 * @module errors
 * The one error tree of portsnare. Every failure the daemon reports on purpose is a PortsnareError
 * with a stable `code`, so callers and tests branch on codes, never on message text.
 */

export const ErrorCodes = {
  CONFIG: 'PSN_ERR_CONFIG',
  USAGE: 'PSN_ERR_USAGE',
  NATIVE_MISSING: 'PSN_NATIVE_MISSING',
  INVALID_ADDRESS: 'PSN_ERR_INVALID_ADDRESS',
  TEMPLATE: 'PSN_ERR_TEMPLATE',
  COMMAND_FAILED: 'PSN_ERR_COMMAND_FAILED',
  FILE: 'PSN_ERR_FILE',
  STARTUP: 'PSN_ERR_STARTUP',
  PERMISSION: 'PSN_ERR_PERMISSION',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class PortsnareError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PortsnareError';
    this.code = code;
  }
}

/** The errno-style code of a Node system error (`ENOENT`, `EACCES`...), or undefined. */
export function systemErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/** A one-line description of any thrown value, for log lines. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
