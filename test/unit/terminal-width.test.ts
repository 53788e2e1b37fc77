/**
 * The lines `looppool top` and `looppool run`'s progress display redraw in place, measured and cut
 * in terminal columns: a CJK character or an emoji takes two, a combining mark none, and a cut
 * never splits a character (half a surrogate pair prints as garbage).
 */
import stringWidth from 'string-width';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { columns, fit, printable } from '../../src/cli/format.ts';

/** A lone (unpaired) surrogate: half a character. */
const LONE_SURROGATE = /\p{Surrogate}/u;

const ZWJ = '👩‍💻'; // woman, zero width joiner, laptop: 5 UTF-16 units, one grapheme, 2 columns
const FLAG = '🇯🇵'; // two regional indicators: 4 units, 2 columns
const ACCENT = 'e\u0301'; // e and a combining acute accent: 2 units, 1 column

describe('fit', () => {
  it('keeps an ASCII line shorter than the terminal, and cuts a longer one to one column less, ending in …', () => {
    expect(fit('a'.repeat(39), 40)).toBe('a'.repeat(39));
    expect(fit('a'.repeat(40), 40)).toBe(`${'a'.repeat(38)}…`);
    expect(fit('abc\tdef'.repeat(10), 20)).toBe(`${'abc\tdef'.repeat(2)}abc\t…`);
    expect(fit('a'.repeat(100), undefined)).toBe('a'.repeat(100)); // not a terminal, or one too narrow to cut for
    expect(fit('a'.repeat(100), 9)).toBe('a'.repeat(100));
  });

  it('measures CJK text in columns: two a character', () => {
    expect(fit('日本語'.repeat(20), 21)).toBe('日本語日本語日本語…'); // 18 columns and the ellipsis
    expect(fit('日本語', 10)).toBe('日本語'); // 6 columns: kept
    expect(fit('日本語日本', 10)).toBe('日本語日…'); // 10 columns would fill the line
  });

  it('cuts before a wide character that would cross the edge', () => {
    const line = fit(`a${'日本語'.repeat(10)}`, 12); // 10 columns to fill: 'a' and four characters take 9
    expect(line).toBe('a日本語日…');
    expect(stringWidth(line)).toBeLessThan(12);
  });

  it('never splits an emoji, a ZWJ sequence, a flag or a letter and its accent', () => {
    const cases: [string, number, string][] = [
      [ZWJ.repeat(10), 11, `${ZWJ.repeat(4)}…`],
      [FLAG.repeat(10), 13, `${FLAG.repeat(5)}…`],
      [ACCENT.repeat(30), 21, `${ACCENT.repeat(19)}…`],
      [`x${'😀'.repeat(20)}`, 12, `x${'😀'.repeat(4)}…`],
    ];
    for (const [text, width, expected] of cases) {
      const line = fit(text, width);
      expect(line).toBe(expected);
      expect(LONE_SURROGATE.test(line)).toBe(false);
      expect(stringWidth(line)).toBeLessThan(width);
    }
  });

  it('keeps a line of zero-width marks that fits in columns though not in length', () => {
    expect(fit(ACCENT.repeat(15), 20)).toBe(ACCENT.repeat(15));
  });
});

/** fit() as it was, the whole line segmented at once: what fit() must still give, however it measures. */
function fitWhole(line: string, width: number): string {
  if (stringWidth(printable(line)) < width) return line;
  let used = 0;
  for (const { segment, index } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(line)) {
    used += stringWidth(printable(segment));
    if (used > width - 2) return `${line.slice(0, index)}…`;
  }
  return line;
}

/** The length of the longest text handed to a grapheme segmenter (string-width's too) while `run` runs. */
function longestSegmented(run: () => void): number {
  const segment = vi.spyOn(Intl.Segmenter.prototype, 'segment');
  try {
    run();
    return Math.max(0, ...segment.mock.calls.map(([text]) => text.length));
  } finally {
    segment.mockRestore();
  }
}

describe('long lines', () => {
  afterEach(() => vi.restoreAllMocks());

  // Before: the whole line was segmented, and V8's segmenter takes time in its whole length at each
  // step: a command line of 100 000 non-ASCII characters held `ps` and each redraw of `top` for seconds.
  const command = `node /srv/app.mjs ${'日本'.repeat(10_000)}`;

  it('fit() segments no more of a long line than the terminal shows', () => {
    let line = '';
    expect(longestSegmented(() => (line = fit(command, 80)))).toBeLessThan(1000);
    expect(line).toBe(`node /srv/app.mjs ${'日本'.repeat(15)}…`);
  });

  it('columns() does not measure the last column, which is never padded', () => {
    let lines: string[] = [];
    expect(longestSegmented(() => (lines = columns([['POOL', 'COMMAND'], ['名前', command]])))).toBeLessThan(1000);
    expect(lines).toEqual(['POOL  COMMAND', `名前  ${command}`]);
  });

  it('cuts as it did when it segmented the whole line, graphemes that cross its windows included', () => {
    const marks = '\u0301'.repeat(700); // one grapheme longer than the first windows
    const texts = [ACCENT.repeat(400), ZWJ.repeat(300), FLAG.repeat(300), `x${'😀'.repeat(500)}`, `a${marks}${'b'.repeat(300)}`, `日${'e\u0301日'.repeat(300)}`];
    for (const text of texts) for (const width of [10, 11, 37, 80, 200]) expect(fit(text, width)).toBe(fitWhole(text, width));
  });
});

describe('columns', () => {
  it('pads ASCII cells to the widest of their column', () => {
    expect(columns([['NAME', 'PID', 'X'], ['extract', '7', 'y']])).toEqual(['NAME     PID  X', 'extract  7    y']);
    expect(columns([['a\x1bb', 'x'], ['abcd', 'y']])).toEqual(['a\x1bb   x', 'abcd  y']); // a control character shows as `?`: one column
  });

  it('pads by columns: CJK and emoji cells take two a character, a combining mark none', () => {
    expect(columns([['名前', 'x'], ['ab', 'y']])).toEqual(['名前  x', 'ab    y']);
    expect(columns([[ZWJ, 'x'], [FLAG, 'y'], ['ab', 'z']])).toEqual([`${ZWJ}  x`, `${FLAG}  y`, 'ab  z']);
    expect(columns([[ACCENT.repeat(3), 'x'], ['abc', 'y']])).toEqual([`${ACCENT.repeat(3)}  x`, 'abc  y']);
    const widths = columns([['日本語', '1'], ['abcdefg', '2']]).map((line) => stringWidth(line));
    expect(widths).toEqual([10, 10]);
  });
});

describe('printable', () => {
  it('shows control characters as ?, and a lone surrogate as U+FFFD (what a terminal prints for it), a pair as it is', () => {
    expect(printable('a\u001b[2Jb\u0085c')).toBe('a?[2Jb?c');
    expect(printable('x\ud800y\udc00z')).toBe('x\ufffdy\ufffdz'); // before: left as they were, counted 0 columns
    expect(printable('👩‍💻 😀')).toBe('👩‍💻 😀');
    expect(fit(printable(`${'x'.repeat(10)}\ud800${'y'.repeat(10)}`), 20)).toBe(`${'x'.repeat(10)}\ufffd${'y'.repeat(7)}…`);
  });
});
