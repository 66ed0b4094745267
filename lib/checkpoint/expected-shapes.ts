// The `expect` option of the checkpoint readers: the tensors a file must hold, by name and shape.

import { invalidArgument } from '../check';

export type ExpectedShapes = Record<string, readonly number[]>;

export const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
export const isShape = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((size) => Number.isSafeInteger(size) && size >= 0);
const quoteAll = (names: readonly string[]): string => names.map((name) => `'${name}'`).join(', ');

export function checkExpectOption(expect: unknown): asserts expect is ExpectedShapes | undefined {
  if (expect === undefined) return;
  if (typeof expect !== 'object' || expect === null || Array.isArray(expect)) {
    throw invalidArgument('object of tensor shapes', 'expect', expect);
  }
  for (const [name, shape] of Object.entries(expect)) {
    if (!isShape(shape)) throw invalidArgument('array of non-negative integers', `expect['${name}']`, shape);
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
    if (wanted.length !== shape.length || wanted.some((size, i) => size !== shape[i])) {
      throw fail(`tensor '${name}': shape ${formatShape(shape)} but expected ${formatShape(wanted)}`);
    }
  }
}
