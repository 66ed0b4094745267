// The `expect` option of the checkpoint readers: the tensors a file must hold, by name and shape.

import { invalidArgument } from '../check';
import { formatItems, quote } from '../io/bounded-text';

export type ExpectedShapes = Record<string, readonly number[]>;

/** `[2, 3]`; a long shape (from a hostile file) shows its first dimensions and how many more. */
export const formatShape = (shape: readonly number[]): string => `[${formatItems(shape)}]`;
export const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((size, i) => size === b[i]);
export const isShape = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((size) => Number.isSafeInteger(size) && size >= 0);
const quoteAll = (names: readonly string[]): string => formatItems(names, quote);

export function checkExpectOption(expect: unknown): asserts expect is ExpectedShapes | undefined {
  if (expect === undefined) return;
  if (typeof expect !== 'object' || expect === null || Array.isArray(expect)) {
    throw invalidArgument('object of tensor shapes', 'expect', expect);
  }
  for (const [name, shape] of Object.entries(expect)) {
    if (!isShape(shape)) throw invalidArgument('array of non-negative integers', `expect[${quote(name)}]`, shape);
  }
}

/** Throws `fail(...)` unless `found` has exactly the expected names, each with its expected shape. */
export function checkExpectedShapes(
  found: ReadonlyArray<{ name: string; shape: readonly number[] }>,
  expect: ExpectedShapes,
  fail: (problem: string) => Error,
): void {
  const names = new Set(found.map((tensor) => tensor.name));
  const missing = Object.keys(expect).filter((name) => !names.has(name));
  const unexpected = [...names].filter((name) => !Object.hasOwn(expect, name));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${missing.length === 1 ? 'tensor' : 'tensors'} ${quoteAll(missing)}`);
  if (unexpected.length > 0) problems.push(`unexpected ${unexpected.length === 1 ? 'tensor' : 'tensors'} ${quoteAll(unexpected)}`);
  if (problems.length > 0) throw fail(problems.join('; '));
  for (const { name, shape } of found) {
    const wanted = expect[name];
    if (!sameShape(wanted, shape)) {
      throw fail(`tensor ${quote(name)}: shape ${formatShape(shape)} but expected ${formatShape(wanted)}`);
    }
  }
}
