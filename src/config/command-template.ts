/**
 * @module config/command-template
 * KILL_ROUTE / KILL_RUN_CMD / KILL_HOSTS_DENY templates. A command template is split into argument
 * vectors once, when the config is read; the macros `$TARGET$`, `$PORT$` and `$MODE$` are substituted
 * inside each argument afterwards, so no value can ever become an extra argument, an operator or a
 * shell word. Commands run without a shell: `a && b` is supported as "run b only if a succeeded";
 * every other piece of shell syntax is refused with a message that says what to do instead.
 */
import { canonicalAddress } from '../net/address.ts';
import { ErrorCodes, PortsnareError } from '../errors.ts';
import type { Mode } from '../detect/probe.ts';

export interface MacroValues {
  target: string;
  port: number;
  /** A detection mode, or `manual` for `portsnare block`. */
  mode: Mode | 'manual';
}

/** A command template split into steps; each step is an argument vector still holding macros. */
export interface CommandTemplate {
  text: string;
  steps: string[][];
}

export type TemplateParse = { ok: true; template: CommandTemplate } | { ok: false; reason: string };

const UNSUPPORTED: [RegExp, string][] = [
  [/^\|\|/, '"||"'],
  [/^\|/, 'a pipe "|"'],
  [/^;/, '";"'],
  [/^&(?!&)/, 'a background "&"'],
  [/^>/, 'a redirection ">"'],
  [/^</, 'a redirection "<"'],
  [/^`/, 'a backquote'],
  [/^\$\(/, 'a command substitution "$("'],
];

/** Splits a command template into steps of argument vectors, like a shell would, minus the shell. */
export function parseCommandTemplate(text: string): TemplateParse {
  const steps: string[][] = [];
  let argv: string[] = [];
  let word: string | null = null;
  let i = 0;
  const endWord = () => {
    if (word !== null) argv.push(word);
    word = null;
  };
  while (i < text.length) {
    const c = text.charAt(i);
    const rest = text.slice(i);
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (rest.startsWith('&&')) {
      endWord();
      if (argv.length === 0) return { ok: false, reason: '"&&" with no command before it' };
      steps.push(argv);
      argv = [];
      i += 2;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return { ok: false, reason: 'unterminated single quote' };
      word = (word ?? '') + text.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      let j = i + 1;
      let chunk = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        chunk += text.charAt(j);
        j++;
      }
      if (j >= text.length) return { ok: false, reason: 'unterminated double quote' };
      word = (word ?? '') + chunk;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= text.length) return { ok: false, reason: 'trailing backslash' };
      word = (word ?? '') + text.charAt(i + 1);
      i += 2;
    } else {
      const unsupported = UNSUPPORTED.find(([pattern]) => pattern.test(rest));
      if (unsupported) {
        return {
          ok: false,
          reason: `${unsupported[1]} needs a shell, and portsnare runs commands without one; put the commands in a script and call the script with the macros as arguments`,
        };
      }
      word = (word ?? '') + c;
      i++;
    }
  }
  endWord();
  if (argv.length > 0) steps.push(argv);
  else if (steps.length > 0) return { ok: false, reason: '"&&" with no command after it' };
  return { ok: true, template: { text, steps } };
}

/** Replaces every macro occurrence; the target must already be a canonical address. */
export function substituteMacros(text: string, values: MacroValues): string {
  if (canonicalAddress(values.target) !== values.target) {
    throw new PortsnareError(
      ErrorCodes.INVALID_ADDRESS,
      `refusing non-canonical target ${JSON.stringify(values.target)}`,
    );
  }
  if (!Number.isInteger(values.port) || values.port < 0 || values.port > 65535) {
    throw new PortsnareError(ErrorCodes.TEMPLATE, `refusing invalid port ${String(values.port)}`);
  }
  return text
    .replaceAll('$TARGET$', values.target)
    .replaceAll('$PORT$', String(values.port))
    .replaceAll('$MODE$', values.mode);
}

/** The argument vectors to run, macros substituted argument by argument. */
export function expandCommand(template: CommandTemplate, values: MacroValues): string[][] {
  return template.steps.map((argv) => argv.map((arg) => substituteMacros(arg, values)));
}

export function hasTargetMacro(text: string): boolean {
  return text.includes('$TARGET$');
}
