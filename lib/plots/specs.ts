// The pictures as Vega-Lite specifications: plain data, no rendering (render.ts turns them into SVG).
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const config = { font: 'Helvetica, Arial, sans-serif', view: { stroke: null }, title: { anchor: 'start', fontSize: 15, subtitleColor: '#555' } } as const;

export interface LoggedLoss {
  /** 1-based step counted from the run's start (epoch · stepsPerEpoch + step). */
  step: number;
  /** 1-based epoch. */
  epoch: number;
  loss: number;
}

/** The logged losses over the run's steps, on a log scale, with a dashed rule where each epoch starts; `lossName` for the axis. */
export function lossCurveSpec(losses: LoggedLoss[], stepsPerEpoch: number, epochs: number, subtitle: string | string[], lossName = 'cross-entropy'): TopLevelSpec {
  const logScale = losses.length > 0 && losses.every((p) => p.loss > 0);
  const starts = Array.from({ length: Math.max(0, epochs - 1) }, (_, e) => ({ step: (e + 1) * stepsPerEpoch, label: `epoch ${e + 2}` }));
  return {
    $schema: SCHEMA,
    config,
    title: { text: 'Training loss', subtitle },
    width: 560,
    height: 300,
    layer: [
      {
        data: { values: starts },
        layer: [
          { mark: { type: 'rule', color: '#bbb', strokeDash: [4, 4] }, encoding: { x: { field: 'step', type: 'quantitative' } } },
          {
            mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, y: 2, color: '#888', fontSize: 10 },
            encoding: { x: { field: 'step', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
      {
        data: { values: losses },
        mark: { type: 'line', point: { size: 18, color: '#1f77b4' }, color: '#1f77b4', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'step', scale: { domain: [0, epochs * stepsPerEpoch], nice: false } },
          y: { field: 'loss', type: 'quantitative', title: logScale ? `loss (${lossName}, log scale)` : `loss (${lossName})`, scale: logScale ? { type: 'log' } : { zero: true } },
        },
      },
    ],
  };
}

export interface EpochAccuracy {
  epoch: number;
  /** 0..1 */
  accuracy: number;
}

/** Which rows an accuracy or a confusion matrix is on, in the pictures' words. */
export interface HeldOutWords {
  /** 'test' or 'validation'. */
  name: string;
  /** What the rows are: 'test images', 'validation rows'. */
  rows: string;
  /** What a class is: 'digit', 'class'. */
  item: string;
}
export const MNIST_WORDS: HeldOutWords = { name: 'test', rows: 'test images', item: 'digit' };

/** The test (or validation) accuracy measured after each epoch, each point labelled with its percentage. */
export function accuracySpec(points: EpochAccuracy[], testImages: number, words: HeldOutWords = MNIST_WORDS): TopLevelSpec {
  const values = points.map((p) => ({ epoch: p.epoch, percent: 100 * p.accuracy, label: `${(100 * p.accuracy).toFixed(2)} %` }));
  return {
    $schema: SCHEMA,
    config,
    title: { text: `${words.name[0].toUpperCase()}${words.name.slice(1)} accuracy after each epoch`, subtitle: `on ${testImages.toLocaleString('en-US')} ${words.rows}` },
    width: Math.max(240, 70 * values.length),
    height: 260,
    data: { values },
    encoding: {
      x: { field: 'epoch', type: 'ordinal', title: 'epoch', axis: { labelAngle: 0 } },
      y: { field: 'percent', type: 'quantitative', title: `${words.name} accuracy (%)`, scale: { zero: false, padding: 24 } },
    },
    layer: [
      { mark: { type: 'line', point: { size: 40, color: '#2ca02c' }, color: '#2ca02c', strokeWidth: 2 } },
      { mark: { type: 'text', dy: -12, fontSize: 11, color: '#222' }, encoding: { text: { field: 'label' } } },
    ],
  };
}

/**
 * counts[true][predicted] as a grid of cells with their counts: the diagonal (right) in blue, the
 * mistakes in red, both shaded on a square-root scale so that a handful of mistakes still shows.
 * `classNames`: the axes' labels instead of the indices; `item`: what a class is called on the axes.
 */
export function confusionMatrixSpec(counts: number[][], subtitle: string | string[], item = 'digit', classNames?: readonly string[]): TopLevelSpec {
  const values = counts.flatMap((row, t) => row.map((count, p) => ({ true: t, predicted: p, count, right: t === p })));
  const right = values.filter((v) => v.right);
  const wrong = values.filter((v) => !v.right);
  const max = (vs: typeof values): number => Math.max(1, ...vs.map((v) => v.count));
  const cell = 40;
  const axis = {
    labelAngle: 0, labelFontSize: 12, titleFontSize: 12, titlePadding: 8, domain: false, ticks: false,
    ...(classNames && { labelExpr: `${JSON.stringify(classNames)}[datum.value]` }),
  } as const;
  const x = { field: 'predicted', type: 'ordinal', title: `predicted ${item}`, axis: { ...axis, orient: 'top' } } as const;
  const y = { field: 'true', type: 'ordinal', title: `true ${item}`, axis } as const;
  // Cells with no images stay pale grey: only what happened gets a colour.
  const shade = (vs: typeof values, scheme: string) => ({
    data: { values: vs.filter((v) => v.count > 0) },
    mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
    encoding: { x, y, color: { field: 'count', type: 'quantitative', scale: { type: 'sqrt', scheme, domain: [0, max(vs)] }, legend: null } },
  }) as const;
  const empty = {
    data: { values: values.filter((v) => v.count === 0) },
    mark: { type: 'rect', stroke: 'white', strokeWidth: 1, color: '#f3f3f3' },
    encoding: { x, y },
  } as const;
  const label = (vs: typeof values, darkAbove: number) => ({
    data: { values: vs },
    mark: { type: 'text', fontSize: 12 },
    encoding: {
      x,
      y,
      text: { field: 'count', type: 'quantitative' },
      color: { condition: { test: `datum.count > ${darkAbove}`, value: 'white' }, value: '#222' },
      opacity: { condition: { test: 'datum.count == 0', value: 0.3 }, value: 1 },
    },
  }) as const;
  return {
    $schema: SCHEMA,
    config,
    title: { text: 'Confusion matrix', subtitle },
    width: cell * counts.length,
    height: cell * counts.length,
    layer: [empty, shade(right, 'blues'), shade(wrong, 'oranges'), label(right, max(right) * 0.3), label(wrong, max(wrong) * 0.5)],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}

export interface DigitTile {
  /** data: URI of the image. */
  url: string;
  index: number;
  label: number;
  predicted: number;
  confidence: number;
}

/** Images in a grid, `columns` wide, each captioned `true → predicted` with its index and the network's confidence. */
export function misclassifiedSpec(tiles: DigitTile[], columns: number, imageSize: number, title: string, subtitle: string | string[]): TopLevelSpec {
  const cellW = Math.max(imageSize + 16, 76);
  const cellH = imageSize + 34;
  const values = tiles.map((t, i) => ({
    ...t,
    x: (i % columns) * cellW + cellW / 2,
    y: Math.floor(i / columns) * cellH,
    caption: `${t.label} → ${t.predicted}`,
    detail: `#${t.index} · ${Math.round(100 * t.confidence)} %`,
    description: `test image ${t.index}: true ${t.label}, predicted ${t.predicted} (${Math.round(100 * t.confidence)} % sure)`,
  }));
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const px = (field: string) => ({ field, type: 'quantitative', scale: null }) as const;
  return {
    $schema: SCHEMA,
    config,
    title: { text: title, subtitle },
    width: cellW * Math.min(columns, Math.max(1, tiles.length)),
    height: cellH * rows,
    data: { values },
    layer: [
      // The image carries the tile's description for screen readers (and not its data: URI a second time).
      {
        mark: { type: 'image', width: imageSize, height: imageSize, align: 'center', baseline: 'top', smooth: false },
        encoding: { x: px('x'), y: px('y'), url: { field: 'url' }, description: { field: 'description' } },
      },
      { mark: { type: 'text', baseline: 'top', fontSize: 12, fontWeight: 'bold', dy: imageSize + 3, aria: false }, encoding: { x: px('x'), y: px('y'), text: { field: 'caption' } } },
      { mark: { type: 'text', baseline: 'top', fontSize: 9, color: '#777', dy: imageSize + 18, aria: false }, encoding: { x: px('x'), y: px('y'), text: { field: 'detail' } } },
    ],
  } as TopLevelSpec;
}
