// Vega-Lite specifications to SVG text, headless: Vega's scenegraph renders SVG without a browser or canvas.
// vega and vega-lite are optional peer dependencies (about 25 MB): loaded only when a picture is asked for.
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };
import { vegaTextWidth } from './text-width';

type Vega = typeof import('vega', { with: { 'resolution-mode': 'import' } });
type VegaLite = typeof import('vega-lite', { with: { 'resolution-mode': 'import' } });

export interface PlotLibraries {
  vega: Vega;
  vegaLite: VegaLite;
}

export const PLOT_PACKAGES = ['vega', 'vega-lite'] as const;

/** Thrown when --plots is asked for and vega or vega-lite is not installed. */
export class PlotLibrariesMissing extends Error {}

let loaded: Promise<PlotLibraries> | undefined;

/**
 * Imports vega and vega-lite (ES modules) once. `names` stands in for the packages' names in tests. When
 * one is missing the error says which, and the command that installs both.
 */
export function loadPlotLibraries(names: readonly string[] = PLOT_PACKAGES): Promise<PlotLibraries> {
  const load = async (): Promise<PlotLibraries> => {
    const modules: unknown[] = [];
    for (const name of names) {
      try {
        modules.push(await import(name));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
        throw new PlotLibrariesMissing(
          `--plots needs the optional packages ${PLOT_PACKAGES.join(' and ')}, and '${name}' is not installed; ` +
            `install them beside fcnet with \`npm install ${PLOT_PACKAGES.join(' ')}\` (or \`npm install -g ${PLOT_PACKAGES.join(' ')}\` for a global fcnet)`,
        );
      }
    }
    const vega = modules[0] as Vega;
    // Untyped but public: vega-scenegraph's text measure, which a caller may replace when there is no canvas.
    const metrics = (vega as unknown as { textMetrics?: { width: unknown } }).textMetrics;
    if (metrics) metrics.width = vegaTextWidth;
    return { vega, vegaLite: modules[1] as VegaLite };
  };
  if (names !== PLOT_PACKAGES) return load();
  loaded ??= load().catch((e: unknown) => {
    loaded = undefined;
    throw e;
  });
  return loaded;
}

/** The SVG document for `spec`. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, vegaLite } = await loadPlotLibraries();
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
