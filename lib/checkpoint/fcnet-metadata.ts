// What fcnet records about a network beside its tensors, in safetensors' __metadata__: one versioned JSON entry
// under the key 'fcnet', e.g. {"format":1,"layers":["0","2"]}. PyTorch ignores it; files without it keep loading.

import type { MLP } from '../model';
import { defaultLayerNames } from '../model';

export const FCNET_METADATA_KEY = 'fcnet';
export const FCNET_METADATA_FORMAT = 1;

export interface FcnetMetadata {
  /** The Linear layers' state_dict names in the order they run (recorded when not fc1, fc2, ...). */
  layers?: string[];
}

/** The __metadata__ entry for `model`: {} when it holds nothing the tensors do not already say. */
export function fcnetMetadataOf(model: MLP): Record<string, string> {
  const standard = defaultLayerNames(model.layerNames.length);
  if (model.layerNames.every((name, l) => name === standard[l])) return {};
  return { [FCNET_METADATA_KEY]: JSON.stringify({ format: FCNET_METADATA_FORMAT, layers: model.layerNames }) };
}

/** The 'fcnet' entry of `metadata`, checked; {} when there is none. */
export function readFcnetMetadata(metadata: Record<string, string>, source: string): FcnetMetadata {
  if (!Object.hasOwn(metadata, FCNET_METADATA_KEY)) return {};
  const fail = (problem: string): Error => new Error(`${source}: __metadata__ '${FCNET_METADATA_KEY}' ${problem}`);
  let entry: unknown;
  try {
    entry = JSON.parse(metadata[FCNET_METADATA_KEY]);
  } catch {
    throw fail('is not JSON');
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail('is not a JSON object');
  const { format, layers } = entry as Record<string, unknown>;
  if (typeof format !== 'number' || !Number.isInteger(format)) throw fail("has no integer 'format'");
  if (format > FCNET_METADATA_FORMAT) throw fail(`has format ${format}, newer than this fcnet reads (${FCNET_METADATA_FORMAT}): upgrade fcnet`);
  if (layers === undefined) return {};
  if (!Array.isArray(layers) || !layers.every((name) => typeof name === 'string')) throw fail("field 'layers' is not a list of names");
  return { layers };
}
