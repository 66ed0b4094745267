// How wide a line of text is, for Vega's layout when no canvas measures it. Vega's own guess without a
// canvas (0.8 em for every character) is about half again too wide, so titles pushed the pictures' right
// edge far past what they drew. Vega lets a caller supply this measure (vl-convert does the same).

// Helvetica's advance widths (Arial's are the same), in thousandths of an em, for characters 32 to 126.
const HELVETICA = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space ! " # $ % & ' ( ) * + , - . /
  556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0-9 : ; < = > ?
  1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ A-O
  667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P-Z [ \ ] ^ _
  333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` a-o
  556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p-z { | } ~
];
/** Any other character (→, ·, letters with accents): about a digit's width. */
const OTHER = 600;
/** Bold Helvetica runs about this much wider. */
const BOLD = 1.08;

/** Width in pixels of `text` in Helvetica (or Arial) at `fontSize` pixels. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let units = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    units += code >= 32 && code <= 126 ? HELVETICA[code - 32] : OTHER;
  }
  return (units / 1000) * fontSize * (bold ? BOLD : 1);
}

/** A text mark as Vega's scenegraph holds it: the members textWidth needs. */
export interface TextItem {
  text?: unknown;
  fontSize?: number;
  fontWeight?: string | number;
}

/** Vega's `textMetrics.width(item, line)`: the widest line when `line` is not given. */
export function vegaTextWidth(item: TextItem, line?: unknown): number {
  const fontSize = item.fontSize ?? 11; // Vega's default
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  const lines = line != null ? [line] : Array.isArray(item.text) ? item.text : [item.text ?? ''];
  return Math.max(0, ...lines.map((l) => textWidth(String(l ?? '').trim(), fontSize, bold)));
}
