// Command-line flags, parsed with node:util and checked with the library's own messages.
import { parseArgs, type ParseArgsConfig } from 'util';
import { backendChoices, type BackendChoice } from '../backends';
import { ACTIVATIONS, type Activation } from '../checkpoint';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseFlags(argv: string[], options: FlagSpec, usage: string): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
}

/** A mistake in the command line: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

export function intFlag(values: Parsed['values'], name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got '${raw}'`);
  return n;
}

export function numberFlag(values: Parsed['values'], name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name}: expected a positive number, got '${raw}'`);
  return n;
}

/** "500" or "256,128": the hidden layer widths. */
export function hiddenFlag(values: Parsed['values'], fallback: number[]): number[] {
  const raw = values.hidden;
  if (raw === undefined) return fallback;
  const sizes = String(raw).split(',').map((s) => Number(s.trim()));
  if (!sizes.every((n) => Number.isInteger(n) && n >= 1)) throw new UsageError(`--hidden: expected widths like 500 or 256,128, got '${raw}'`);
  return sizes;
}

/** --backend (or its alias --device): auto | cpu | js | cuda. */
export function backendFlag(values: Parsed['values']): BackendChoice {
  const backend = String(values.backend ?? values.device ?? 'auto') as BackendChoice;
  if (!backendChoices.includes(backend)) throw new UsageError(`--backend: expected one of ${backendChoices.join(', ')}, got '${backend}'`);
  return backend;
}

/** --activation: the activation between layers, which a state_dict does not record; undefined when not given. */
export function activationFlag(values: Parsed['values']): Activation | undefined {
  const raw = values.activation;
  if (raw === undefined) return undefined;
  if (!(ACTIVATIONS as readonly string[]).includes(String(raw))) throw new UsageError(`--activation: expected one of ${ACTIVATIONS.join(', ')}, got '${raw}'`);
  return raw as Activation;
}
