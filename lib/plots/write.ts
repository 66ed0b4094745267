// The SVG pictures of `fcnet train --plots DIR` and `fcnet eval MODEL --plots DIR`, written into DIR.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic-write';
import type { Dataset } from '../data/dataset';
import { digitPngDataUri } from '../image/digit-png';
import type { MLP } from '../model';
import { classify, confusionMatrix, mistakes } from './classify';
import { renderSvg } from './render';
import { accuracySpec, confusionMatrixSpec, lossCurveSpec, misclassifiedSpec, type EpochAccuracy, type HeldOutWords, type LoggedLoss } from './specs';

export const PLOT_FILES = {
  loss: 'loss.svg',
  accuracy: 'accuracy.svg',
  confusion: 'confusion-matrix.svg',
  misclassified: 'misclassified.svg',
} as const;

/** What a training run logged, for its pictures. */
export interface TrainingHistory {
  losses: LoggedLoss[];
  /** Test accuracy after each epoch this run trained. */
  accuracies: EpochAccuracy[];
  epochs: number;
  stepsPerEpoch: number;
  testImages: number;
  /** One line on the run: network, optimizer, batch size, how often the loss was logged. */
  description: string;
  /** The loss's name on the loss axis. Default 'cross-entropy'. */
  lossName?: string;
}

/** Written like the weights: atomically, never through a symlink, keeping a replaced file's permissions. */
async function writeSvg(dir: string, name: string, svg: Promise<string>): Promise<string> {
  const file = join(dir, name);
  writeFileAtomic(file, await svg);
  return file;
}

/** loss.svg and accuracy.svg; returns the paths written. */
export async function writeTrainingPlots(dir: string, history: TrainingHistory): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  return [
    await writeSvg(dir, PLOT_FILES.loss, renderSvg(lossCurveSpec(history.losses, history.stepsPerEpoch, history.epochs, history.description, history.lossName))),
    await writeSvg(dir, PLOT_FILES.accuracy, renderSvg(accuracySpec(history.accuracies, history.testImages))),
  ];
}

const VALIDATION_WORDS: HeldOutWords = { name: 'validation', rows: 'validation rows', item: 'class' };

/**
 * A table's run (`fcnet train --data table.csv --plots DIR`): loss.svg; with classes, confusion-matrix.svg on the
 * rows the run's figures are on (`confusion.rows`, e.g. '57 validation rows'), and with held-out rows
 * (history.testImages > 0) accuracy.svg on them. Returns the paths written.
 */
export async function writeTablePlots(dir: string, history: TrainingHistory, confusion: { counts: number[][]; classNames: readonly string[]; rows: string } | null): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written = [await writeSvg(dir, PLOT_FILES.loss, renderSvg(lossCurveSpec(history.losses, history.stepsPerEpoch, history.epochs, history.description, history.lossName)))];
  if (history.testImages > 0 && history.accuracies.length > 0) {
    written.push(await writeSvg(dir, PLOT_FILES.accuracy, renderSvg(accuracySpec(history.accuracies, history.testImages, VALIDATION_WORDS))));
  }
  if (confusion) {
    const right = confusion.counts.reduce((sum, row, t) => sum + row[t], 0);
    const total = confusion.counts.flat().reduce((a, b) => a + b, 0);
    const subtitle = [`on ${confusion.rows}: ${right} right (${((100 * right) / total).toFixed(2)} %)`, "rows: the true class; columns: the network's answer"];
    written.push(await writeSvg(dir, PLOT_FILES.confusion, renderSvg(confusionMatrixSpec(confusion.counts, subtitle, 'class', confusion.classNames))));
  }
  return written;
}

export const MISCLASSIFIED_SHOWN = 64;
const COLUMNS = 8;
const SCALE = 2;

/** confusion-matrix.svg and misclassified.svg for `model` on `test`; `source` names the model. Returns the paths. */
export async function writeTestSetPlots(dir: string, model: MLP, test: Dataset, source: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const classification = classify(model, test);
  const counts = confusionMatrix(test.labels, classification.predicted, model.classes);
  const { first, total } = mistakes(test.labels, classification, MISCLASSIFIED_SHOWN);
  const right = test.n - total;
  const n = test.n.toLocaleString('en-US');
  const matrixSubtitle = [
    `${source} on ${n} test images: ${right.toLocaleString('en-US')} right (${((100 * right) / test.n).toFixed(2)} %)`,
    'rows: the true digit; columns: the network\'s answer',
  ];
  const tiles = first.map((m) => ({ ...m, url: digitPngDataUri(test.images.subarray(m.index * test.d, (m.index + 1) * test.d), test.rows, test.cols, SCALE) }));
  const gridSubtitle = total === 0
    ? [`${source}: none of the ${n} test images`]
    : [
        `${source}: ${total === first.length ? `all ${total}` : `the first ${first.length} of ${total}`} in test-set order, of ${n} test images`,
        'under each: true → predicted digit, then the image\'s index and the network\'s confidence',
      ];
  return [
    await writeSvg(dir, PLOT_FILES.confusion, renderSvg(confusionMatrixSpec(counts, matrixSubtitle))),
    await writeSvg(dir, PLOT_FILES.misclassified, renderSvg(misclassifiedSpec(tiles, COLUMNS, test.rows * SCALE, 'Misclassified test images', gridSubtitle))),
  ];
}
