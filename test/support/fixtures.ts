// The PyTorch reference fixtures (see test/fixtures/README.md), read through fcnet's safetensors reader.
import * as fs from 'fs';
import { readSafetensorsFile } from '../../lib/checkpoint';
import type { StateDict } from '../../lib/tensor';
import { requireFixtureFile, storedPart } from './fixtures-dir';

export { fixtureFilesOf, fixtureNames } from './fixtures-dir';

export interface Fixture {
  name: string;
  hidden: number;
  batch: number;
  steps: number;
  lr: number;
  tensors: StateDict;
  /** Labels as class indices. */
  labels: Int32Array;
  /** The rows kept of large weights' gradients, parameters after the steps and optimizer state (see storedPart). */
  meta: { sizes: number[]; rows?: Record<string, number[]> };
}

export function loadFixture(name: string): Fixture {
  const meta = JSON.parse(fs.readFileSync(requireFixtureFile(`${name}.json`), 'utf8'));
  const { tensors } = readSafetensorsFile(requireFixtureFile(`${name}.safetensors`));
  return {
    name, hidden: meta.hidden, batch: meta.batch, steps: meta.steps, lr: meta.lr, tensors, labels: Int32Array.from(tensors.y.data), meta,
  };
}

export const parameterNames = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];

/** The part of `full`, a tensor shaped like parameter `name`, that the fixture stores (its rows kept). */
export const fixturePart = (fixture: Fixture, full: Float32Array, name: string): Float32Array => storedPart(full, name, fixture.meta);
