// The charts' rasteriser (/history chart, /delivery): SVG drawn by the caller, rasterised by
// resvg (Rust, shipped prebuilt inside its npm platform packages: no browser, no system
// libraries, no download at install). Text uses DejaVu Sans from the dejavu-fonts-ttf
// package, so the image reads the same on a slim image with no fonts. resvg is loaded on the
// first chart, not at start: where its native binding cannot load (a base image without
// librt.so.1), only the chart is refused and the bot runs on.
import { createRequire } from 'node:module';
import path from 'node:path';

/** Charts are laid out for a phone's bubble (about 300 px wide) and drawn at twice that. */
export const CHART_SCALE = 2;

/** The font file resvg draws text with, found inside its npm package. */
function fontFile(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans.ttf');
}

/** resvg cannot be loaded here; the message says why and what to do. */
export class ChartUnavailableError extends Error {
  override name = 'ChartUnavailableError';
}

/** The error a failed load names itself by (a module loader may wrap the original). */
const rootCause = (error: unknown): unknown =>
  error instanceof Error && error.cause instanceof Error ? rootCause(error.cause) : error;

let resvg: Promise<typeof import('@resvg/resvg-js')> | undefined;
const loadResvg = () => {
  resvg ??= import('@resvg/resvg-js').catch((error: unknown) => {
    resvg = undefined;
    throw error;
  });
  return resvg;
};

/** An `<svg>` document of that size around the parts, in the charts' font. */
export function svgDocument(width: number, height: number, parts: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans">${parts.join('')}</svg>`;
}

/**
 * The SVG as a PNG at CHART_SCALE. Where resvg cannot load, a ChartUnavailableError whose
 * message ends with `instead` (what the user gets without the chart).
 */
export async function rasterise(svg: string, instead: string): Promise<Buffer> {
  let Resvg: typeof import('@resvg/resvg-js').Resvg;
  try {
    ({ Resvg } = await loadResvg());
  } catch (error) {
    const why = rootCause(error);
    throw new ChartUnavailableError(
      `The chart cannot be drawn here: ${why instanceof Error ? why.message : String(why)}. The image lacks a system library that @resvg/resvg-js needs (see README, /history chart); ${instead}.`,
    );
  }
  const png = new Resvg(svg, {
    font: { fontFiles: [fontFile()], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' },
    fitTo: { mode: 'zoom', value: CHART_SCALE },
  })
    .render()
    .asPng();
  return Buffer.from(png);
}
