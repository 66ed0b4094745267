// The PyTorch reference fixtures (see ../shared/fixtures/README.md), read through fcnet's safetensors reader.
import * as fs from 'fs';
import { readSafetensorsFile } from '../../lib/checkpoint';
import type { StateDict } from '../../lib/tensor';
import { requireFixtureFile } from './fixtures-dir';

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
}

export function loadFixture(name: string): Fixture {
  const meta = JSON.parse(fs.readFileSync(requireFixtureFile(`${name}.json`), 'utf8'));
  const { tensors } = readSafetensorsFile(requireFixtureFile(`${name}.safetensors`));
  return { name, hidden: meta.hidden, batch: meta.batch, steps: meta.steps, lr: meta.lr, tensors, labels: Int32Array.from(tensors.y.data) };
}

export const parameterNames = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];
