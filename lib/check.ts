// One message shape for every bad argument, after sharp:
//   Expected integer between 1 and 60000 for batchSize but received 0 of type number

import { clipText } from './io/bounded-text';

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${clipText(value)}' of type string`;
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  if (Array.isArray(value)) return `Array of length ${value.length}`;
  return `${clipText(String(value))} of type ${typeof value}`;
}

/** The error for an argument that is not what was expected. */
export function invalidArgument(expected: string, name: string, value: unknown): TypeError | RangeError {
  const message = `Expected ${expected} for ${name} but received ${describe(value)}`;
  const isRangeProblem = typeof value === 'number' || (typeof value === 'object' && value !== null && ArrayBuffer.isView(value));
  return isRangeProblem ? new RangeError(message) : new TypeError(message);
}

export function checkInteger(name: string, value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw invalidArgument(`integer ${range}`, name, value);
  }
  return value;
}

/** A finite number in [min, max] (or (min, max] when `exclusiveMin`). */
export function checkNumber(name: string, value: unknown, min: number, max: number, exclusiveMin = false): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (exclusiveMin ? value > min : value >= min) && value <= max;
  if (!ok) throw invalidArgument(`number ${exclusiveMin ? 'above' : 'from'} ${min} ${exclusiveMin ? 'up ' : ''}to ${max}`, name, value);
  return value as number;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument('boolean', name, value);
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArgument(`one of ${allowed.map((a) => `'${a}'`).join(', ')}`, name, value);
  }
  return value as T;
}

/** Throws on option names the function does not know: misspellings are caught, not ignored. */
export function checkKnownOptions(what: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown option '${key}' for ${what}; known options: ${known.join(', ')}`);
    }
  }
}
