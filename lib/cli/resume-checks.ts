// A resumed run keeps its checkpoint's settings: changing one would make it a different run, so a flag given
// with --resume may repeat what the checkpoint records but not change it.
import type { NetworkOptions } from '../checkpoint';
import { UsageError } from './args';

/** One setting: its flag (without --), the value asked for (undefined when not given) and the saved one. */
export type SavedSetting = [flag: string, asked: unknown, saved: unknown];

/** The text a value has on the command line: lists comma-separated, a flag without a value as its name alone. */
const shown = (value: unknown): string => (Array.isArray(value) ? value.join(',') : String(value));

/** Throws a UsageError naming the first setting asked for that differs from the one `file` saved. */
export function checkSameAsSaved(file: string, settings: SavedSetting[]): void {
  for (const [flag, asked, saved] of settings) {
    if (asked === undefined || shown(asked) === shown(saved)) continue;
    const given = asked === true ? `--${flag}` : `--${flag} ${shown(asked)}`;
    throw new UsageError(`${given} conflicts with ${file}, whose run has ${flag} ${saved === undefined || saved === null ? 'none' : shown(saved)}; leave --${flag} out to continue that run as it was`);
  }
}

/** A resumed run keeps its network: --activation or --dropout may repeat what the checkpoint records, not change it. */
export function checkSameNetwork(asked: NetworkOptions, saved: NetworkOptions, file: string): void {
  checkSameAsSaved(file, [['activation', asked.activation, saved.activation ?? 'relu'], ['dropout', asked.dropout, saved.dropout ?? 0]]);
}

/** The options that are set: MLP takes an absent option as its default, not `undefined`. */
export function definedOnly(network: NetworkOptions): NetworkOptions {
  return Object.fromEntries(Object.entries(network).filter(([, value]) => value !== undefined));
}
