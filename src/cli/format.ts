/** Human formatting of sizes, durations and rates for the command's terminal output. */
import type stringWidth from 'string-width';

/** `1 job`, `2 jobs`, `0 jobs`: `n` and the noun, with an `s` unless `n` is 1. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `81.2 MiB`. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `1h02m`, `3m05s`, `12s`, `850ms`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** Milliseconds with a precision that suits their size: `0.04 ms`, `3.2 ms`, `120 ms`. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}

/** `612/s`, `3.4/s`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  return perSecond >= 100 ? `${Math.round(perSecond)}/s` : `${perSecond.toFixed(1)}/s`;
}

/** `97%`; `-` when unknown. */
export function formatPercent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${Math.round(value)}%`;
}

/**
 * Left-aligned columns: each cell padded to the widest of its column, in terminal columns. The
 * last column is never padded, and not measured: it holds command lines, which may be 100 000
 * characters long (see cutToWidth).
 */
export function columns(rows: readonly (readonly string[])[], gap = 2): string[] {
  const last = rows.reduce((most, row) => Math.max(most, row.length), 0) - 1;
  const measured = rows.map((row) => row.map((cell, i) => (i < last ? displayWidth(cell) : 0)));
  const widths: number[] = [];
  for (const row of measured) row.forEach((width, i) => (widths[i] = Math.max(widths[i] ?? 0, width)));
  return rows.map((row, r) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - (measured[r]?.[i] ?? 0) + gap)))
      .join('')
      .trimEnd(),
  );
}

/**
 * `text` with every control character (C0, DEL, C1) shown as `?`, as ps(1) does: a process's
 * command line is anyone's to choose, and written raw it could drive the reader's terminal. A
 * lone surrogate (half of a pair: an error message that held `\ud800`) becomes U+FFFD, which is
 * what a terminal shows for it, in the one column string-width then counts.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').replace(/\p{Cs}/gu, '\ufffd');
}

/** Only ASCII: one column a character, a control character too (printable() shows it as `?`). */
const ASCII = /^[\x00-\x7f]*$/;

/**
 * string-width, loaded the first time a text is not ASCII: its emoji pattern alone takes V8
 * 10-30 ms to build, which every command (`looppool run`) would pay on starting. Node >= 20.19
 * require()s an ES module.
 */
let measure: typeof stringWidth | undefined;
let graphemes: Intl.Segmenter | undefined;

/**
 * The columns `text` takes on a terminal, as shown once printable() has made each control
 * character a `?`: a CJK character or an emoji (however many code points) takes two, a
 * combining mark none. `length` counts UTF-16 units, which is neither.
 */
export function displayWidth(text: string): number {
  if (ASCII.test(text)) return text.length;
  measure ??= (process.getBuiltinModule('node:module').createRequire(import.meta.url)('string-width') as { default: typeof stringWidth }).default;
  return measure(printable(text));
}

/**
 * The longest start of `text` that takes at most `width` columns, cut between graphemes: never
 * inside a surrogate pair (half of one prints as garbage), an emoji sequence or a letter and its
 * accents. Only what the cut needs is segmented, a window at a time (each twice the last): V8's
 * grapheme segmenter takes time in the length of the whole text at each step, and a command line
 * of 100 000 characters, segmented whole, held `looppool ps` for seconds (800 000: minutes).
 */
export function cutToWidth(text: string, width: number): string {
  if (ASCII.test(text)) return text.slice(0, width);
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let used = 0;
  let start = 0;
  for (let size = 4 * width + 16; ; size *= 2) {
    const end = Math.min(text.length, start + size);
    let next = start;
    for (const { segment, index } of graphemes.segment(text.slice(start, end))) {
      // The window's last grapheme may go on past it (more accents, the rest of an emoji sequence): measured whole in the next window.
      if (end < text.length && start + index + segment.length === end) break;
      used += displayWidth(segment);
      if (used > width) return text.slice(0, start + index);
      next = start + index + segment.length;
    }
    if (end === text.length) return text;
    start = next;
  }
}

/**
 * Cut `line` to fit a terminal `width` columns wide, ending in `…` (terminal lines must not wrap
 * in a redrawn display): measured in columns, not characters, so that CJK text or emoji in a
 * line (a worker's error message) do not make it wrap.
 */
export function fit(line: string, width: number | undefined): string {
  if (!width || width < 10) return line;
  // Measured no further than the terminal's width (cutToWidth): a line is kept when it takes less.
  const start = cutToWidth(line, width - 1);
  return start.length === line.length ? line : `${cutToWidth(start, width - 2)}…`;
}

/**
 * A size in bytes from `1048576`, `512K`, `64M`, `1.5G` (binary multiples; `KiB`/`MB` spellings
 * accepted). Returns undefined when the text is not a size.
 */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const power = m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0;
  // A whole number of bytes: 1.5K is 1536, but 0.5 or 1.3K (1331.2) is no size.
  const value = Number(m[1]) * 1024 ** power;
  return Number.isSafeInteger(value) ? value : undefined;
}
