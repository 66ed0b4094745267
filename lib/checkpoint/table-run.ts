// A table's run (`fcnet train --data table.csv|X.npy`) in a training checkpoint: what it trained on and how,
// beyond the settings every run has, as the field 'table' of __metadata__ 'fcnet.settings':
//   {"task":"classify","target":"diagnosis","ignore":["id"],"validation":0.2,"standardize":true,"early_stop":5,
//    "lr_schedule":"cosine","clip_grad_norm":null,"from_disk":false,"rows":284,"fingerprint":"9f2c01aa"}
// The scaler, the class and column names are the network's (__metadata__ 'fcnet'); the validation split is remade
// from the seed and the fraction on the same rows, which `rows` and `fingerprint` (of the features and targets as
// read) hold the resumed run to.
import { tasks, type Task } from '../data/csv';

export interface TableRunSettings {
  task: Task;
  /** --target as given: the target column(s), comma-separated, or the targets .npy. */
  target: string;
  /** --ignore: columns that are not features. */
  ignore: string[];
  /** --validation: the fraction held out (seeded by the run's seed, stratified for classes), or null. */
  validation: number | null;
  /** --standardize: the scaler was fitted on the training rows (its values are the network's inputMean/inputStd). */
  standardize: boolean;
  /** --early-stop: the patience, or null. */
  earlyStop: number | null;
  /** --lr-schedule as given (cosine, step:N[:GAMMA], plateau[:PATIENCE[:FACTOR]]), or null. */
  lrSchedule: string | null;
  /** --clip-grad-norm, or null. */
  clipGradNorm: number | null;
  /** --from-disk: the features were read batch by batch from the .npy (the fingerprint then covers their width and the targets). */
  fromDisk: boolean;
  /** The table's rows (training and held out). */
  rows: number;
  /** tableFingerprint of the rows as read: a changed file cannot continue the run. */
  fingerprint: string;
}

const FIELDS = ['task', 'target', 'ignore', 'validation', 'standardize', 'early_stop', 'lr_schedule', 'clip_grad_norm', 'from_disk', 'rows', 'fingerprint'];

/** The JSON object saved for `t` (snake_case, as the other entries). */
export function tableRunEntry(t: TableRunSettings): Record<string, unknown> {
  return {
    task: t.task, target: t.target, ignore: [...t.ignore], validation: t.validation, standardize: t.standardize, early_stop: t.earlyStop,
    lr_schedule: t.lrSchedule, clip_grad_norm: t.clipGradNorm, from_disk: t.fromDisk, rows: t.rows, fingerprint: t.fingerprint,
  };
}

/** Reads the entry back, every field checked; `bad(field, expected, value)` makes the error. */
export function readTableRunEntry(value: unknown, bad: (field: string, expected: string, value: unknown) => Error): TableRunSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('table', 'a JSON object', value);
  const e = value as Record<string, unknown>;
  const wrong = Object.keys(e).find((k) => !FIELDS.includes(k)) ?? FIELDS.find((k) => !Object.hasOwn(e, k));
  if (wrong !== undefined) throw bad(`table.${wrong}`, `one of the fields ${FIELDS.join(', ')}, each present`, e[wrong] ?? null);
  const nullable = <T>(field: string, ok: (v: unknown) => boolean, expected: string): T | null => {
    const v = e[field];
    if (v !== null && !ok(v)) throw bad(`table.${field}`, `null or ${expected}`, v);
    return v as T | null;
  };
  if (!tasks.includes(e.task as Task)) throw bad('table.task', tasks.join(', '), e.task);
  if (typeof e.target !== 'string' || e.target === '') throw bad('table.target', 'a string', e.target);
  if (!Array.isArray(e.ignore) || !e.ignore.every((x) => typeof x === 'string')) throw bad('table.ignore', 'an array of strings', e.ignore);
  if (typeof e.standardize !== 'boolean') throw bad('table.standardize', 'true or false', e.standardize);
  if (typeof e.from_disk !== 'boolean') throw bad('table.from_disk', 'true or false', e.from_disk);
  if (!Number.isInteger(e.rows) || (e.rows as number) < 1) throw bad('table.rows', 'an integer from 1', e.rows);
  if (typeof e.fingerprint !== 'string' || !/^[0-9a-f]{8}$/.test(e.fingerprint)) throw bad('table.fingerprint', '8 hexadecimal digits', e.fingerprint);
  return {
    task: e.task as Task,
    target: e.target,
    ignore: e.ignore as string[],
    validation: nullable<number>('validation', (v) => typeof v === 'number' && v > 0 && v < 1, 'a number above 0 and below 1'),
    standardize: e.standardize,
    earlyStop: nullable<number>('early_stop', (v) => Number.isInteger(v) && (v as number) >= 1, 'an integer from 1'),
    lrSchedule: nullable<string>('lr_schedule', (v) => typeof v === 'string' && v.length <= 100, 'a string'),
    clipGradNorm: nullable<number>('clip_grad_norm', (v) => typeof v === 'number' && v > 0 && Number.isFinite(v), 'a number above 0'),
    fromDisk: e.from_disk,
    rows: e.rows as number,
    fingerprint: e.fingerprint,
  };
}
