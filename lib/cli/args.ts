// The options of fcnet's commands: each declared once, with the range its value must lie in. A value out of
// range is a usage error (exit code 2) found while the command line is parsed, before any work starts. The
// message has the library's one shape (lib/check.ts), with the flag for the name:
//   Expected integer between 1 and 60000 for --batch-size but received '70000'
import { backendChoices, type BackendChoice } from '../backends';
import { ACTIVATIONS } from '../checkpoint/model-weights';

/** A mistake in the command line: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

/** Turns an option's text into its value; throws a UsageError naming `flag` when the text is not one. */
export type ValueParser<T> = (text: string, flag: string) => T;

function expected(what: string, flag: string, text: string): UsageError {
  return new UsageError(`Expected ${what} for ${flag} but received '${text}'`);
}

/** Number('') is 0 and Number(' 7') is 7: only text that is a number by itself counts. */
function toNumber(text: string): number {
  return text.trim() === text && text !== '' ? Number(text) : NaN;
}

/** An integer in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): ValueParser<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
  return (text, flag) => {
    const n = toNumber(text);
    if (!Number.isInteger(n) || n < min || n > max) throw expected(`integer ${range}`, flag, text);
    return n;
  };
}

/** A finite number in (above, max]: a learning rate, a probability above 0. */
export function numberAbove(above: number, max: number): ValueParser<number> {
  return (text, flag) => {
    const n = toNumber(text);
    if (!Number.isFinite(n) || n <= above || n > max) throw expected(`number above ${above} up to ${max}`, flag, text);
    return n;
  };
}

/** One of a fixed list of words. */
export function oneOf<T extends string>(choices: readonly T[]): ValueParser<T> {
  return (text, flag) => {
    if (!(choices as readonly string[]).includes(text)) throw expected(`one of ${choices.map((c) => `'${c}'`).join(', ')}`, flag, text);
    return text as T;
  };
}

/** A comma-separated list, each item read by `item` ("500" or "256,128"; "cpu,js"); `what` describes it. */
export function listOf<T>(item: ValueParser<T>, what: string): ValueParser<T[]> {
  return (text, flag) => {
    try {
      return text.split(',').map((part) => item(part, flag));
    } catch {
      throw expected(what, flag, text); // the whole list: the user's own text, and the wrong item is plain to see
    }
  };
}

/** Any text (a path): commander already refuses a missing value. */
export const text: ValueParser<string> = (value) => value;

/** How one option is declared; commander builds the parsing and the help from it. */
export interface OptionSpec {
  /** As commander takes them: '--batch-size <n>' (takes a value) or '--json' (a switch). */
  flags: string;
  description: string;
  /** Reads and checks the value; the help shows `default` (or `defaultText`) when given. */
  parse?: ValueParser<unknown>;
  default?: unknown;
  defaultText?: string;
  /** Options (by camel-cased name) that may not be given with this one. */
  conflicts?: string[];
}

/** The widths of the hidden layers: "500", "256,128" (MLP takes 1 to 2^24 per layer). */
export const hiddenWidths = listOf(integer(1, 1 << 24), 'widths like 500 or 256,128, each between 1 and 16777216');

/** --backend and its alias --device, in every command that runs a network. */
export const backendOptions: OptionSpec[] = [
  { flags: '--backend <name>', description: `where the math runs: ${backendChoices.join(' | ')}`, parse: oneOf(backendChoices), defaultText: 'auto' },
  { flags: '--device <name>', description: 'the same as --backend', parse: oneOf(backendChoices), conflicts: ['backend'] },
];

/** The backend that --backend or --device names; 'auto' when neither is given. */
export function chosenBackend(options: { backend?: unknown; device?: unknown }): BackendChoice {
  return (options.backend ?? options.device ?? 'auto') as BackendChoice;
}

/** --activation: the activation between layers, which a state_dict does not record (ReLU when not given). */
export const activationOption: OptionSpec = {
  flags: '--activation <name>',
  description: 'the activation between layers, which a state_dict does not record',
  parse: oneOf(ACTIVATIONS),
  defaultText: 'relu',
};
