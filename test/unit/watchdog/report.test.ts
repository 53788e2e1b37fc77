import { describe, expect, it } from 'vitest';
import { MessageShapeError } from '../../../src/protocol/parse.ts';
import { formatBlockedStack, MAX_REPORT_LINE, parseWatchdogReport, ReportLineSplitter } from '../../../src/protocol/watchdog-report.ts';

const frame = { functionName: 'spin', url: 'file:///app/w.ts', line: 12, column: 3 };

describe('parseWatchdogReport', () => {
  it('parses a report with frames', () => {
    const line = JSON.stringify({ kind: 'loopBlocked', blockedMs: 512, frames: [frame, { ...frame, functionName: '' }] });
    expect(parseWatchdogReport(line)).toEqual({ kind: 'loopBlocked', blockedMs: 512, frames: [frame, { ...frame, functionName: '' }] });
  });

  it.each(['inspectorInUse', 'captureTimeout', 'captureFailed', 'blockEnded'])('keeps the reason when there is no stack (%s)', (reason) => {
    const line = JSON.stringify({ kind: 'loopBlocked', blockedMs: 300, frames: [], stackUnavailable: reason });
    expect(parseWatchdogReport(line)).toEqual({ kind: 'loopBlocked', blockedMs: 300, frames: [], stackUnavailable: reason });
  });

  it('drops unknown fields instead of passing them on', () => {
    const line = `{"kind":"loopBlocked","blockedMs":1,"frames":[${JSON.stringify({ ...frame, extra: 1 })}],"__proto__":{"polluted":1},"other":2}`;
    const report = parseWatchdogReport(line);
    expect(Object.keys(report)).toEqual(['kind', 'blockedMs', 'frames']);
    expect(Object.keys(report.frames[0] ?? {})).toEqual(['functionName', 'url', 'line', 'column']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['not JSON', '{"kind":'],
    ['not an object', '[1]'],
    ['another kind', JSON.stringify({ kind: 'hello', blockedMs: 1, frames: [] })],
    ['a negative duration', JSON.stringify({ kind: 'loopBlocked', blockedMs: -1, frames: [] })],
    ['a duration that is not a number', JSON.stringify({ kind: 'loopBlocked', blockedMs: '5', frames: [] })],
    ['frames that are not an array', JSON.stringify({ kind: 'loopBlocked', blockedMs: 1, frames: {} })],
    ['a frame without a url', JSON.stringify({ kind: 'loopBlocked', blockedMs: 1, frames: [{ functionName: 'f', line: 1, column: 1 }] })],
    ['a fractional line', JSON.stringify({ kind: 'loopBlocked', blockedMs: 1, frames: [{ ...frame, line: 1.5 }] })],
    ['an unknown reason', JSON.stringify({ kind: 'loopBlocked', blockedMs: 1, frames: [], stackUnavailable: 'tired' })],
    ['too many frames', JSON.stringify({ kind: 'loopBlocked', blockedMs: 1, frames: Array.from({ length: 65 }, () => frame) })],
    ['a line too long', `{"kind":"loopBlocked","blockedMs":1,"frames":[],"pad":"${'x'.repeat(70_000)}"}`],
  ])('rejects %s with a MessageShapeError', (_what, line) => {
    expect(() => parseWatchdogReport(line)).toThrow(MessageShapeError);
  });
});

describe('formatBlockedStack', () => {
  it('prints frames like a JavaScript stack trace', () => {
    expect(formatBlockedStack([frame, { ...frame, functionName: '', line: 40, column: 1 }])).toBe(
      '    at spin (file:///app/w.ts:12:3)\n    at <anonymous> (file:///app/w.ts:40:1)',
    );
  });
});

describe('ReportLineSplitter', () => {
  it('returns complete lines across chunk boundaries and skips empty ones', () => {
    const splitter = new ReportLineSplitter();
    expect(splitter.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(splitter.push(':2}\n\n')).toEqual(['{"b":2}']);
    expect(splitter.push('{"c":3}')).toEqual([]);
    expect(splitter.push('\n')).toEqual(['{"c":3}']);
  });

  it('drops a runaway line up to its newline, then carries on', () => {
    const splitter = new ReportLineSplitter();
    expect(splitter.push('x'.repeat(MAX_REPORT_LINE + 1))).toEqual([]);
    expect(splitter.push('still the same line')).toEqual([]);
    expect(splitter.push(' end\n{"ok":1}\n')).toEqual(['{"ok":1}']);
  });
});
