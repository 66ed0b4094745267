// The PyTorch reference fixtures in ../shared/fixtures (see its README).
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensorsFile } from '../../lib/checkpoint';
import { packageRoot } from '../../lib/package-root';
import type { StateDict } from '../../lib/tensor';

export const fixturesDir = path.resolve(packageRoot(), '..', 'shared', 'fixtures');

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

export const fixtureNames = ['mlp_H32_B8_seed1', 'mlp_H500_B100_seed2'];

export function loadFixture(name: string): Fixture {
  const meta = JSON.parse(fs.readFileSync(path.join(fixturesDir, `${name}.json`), 'utf8'));
  const { tensors } = readSafetensorsFile(path.join(fixturesDir, `${name}.safetensors`));
  return { name, hidden: meta.hidden, batch: meta.batch, steps: meta.steps, lr: meta.lr, tensors, labels: Int32Array.from(tensors.y.data) };
}

export const parameterNames = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];
