/**
 * When `looppool run` draws its live display: only where nothing else can write to the terminal
 * meanwhile (the display redraws by moving the cursor up over its last frame).
 */
import { describe, expect, it } from 'vitest';
import { progressMode, type ProgressSurroundings } from '../../src/cli/run/progress-mode.ts';

/** fstat-like status of stdout. */
const kind = (k: 'fifo' | 'socket' | 'file' | 'char'): ProgressSurroundings['stdout'] => ({ isFIFO: () => k === 'fifo', isSocket: () => k === 'socket' });
const base: ProgressSurroundings = { quiet: false, stderrIsTerminal: true, recordsToStdout: true, stdoutIsTerminal: false, stdout: kind('file') };

describe('progressMode', () => {
  it('draws nothing with --quiet or when stderr is not a terminal', () => {
    expect(progressMode({ ...base, quiet: true })).toBe('none');
    expect(progressMode({ ...base, stderrIsTerminal: false, stdoutIsTerminal: true, stdout: kind('char') })).toBe('none');
  });

  it('prints records above the display when stdout is a terminal', () => {
    expect(progressMode({ ...base, stdoutIsTerminal: true, stdout: kind('char') })).toBe('above');
  });

  it('draws nothing when records go to a pipe or a socket, which may lead back to the terminal (| cat)', () => {
    expect(progressMode({ ...base, stdout: kind('fifo') })).toBe('none');
    expect(progressMode({ ...base, stdout: kind('socket') })).toBe('none');
  });

  it('draws the display when records go to a file, /dev/null, or --output', () => {
    expect(progressMode({ ...base, stdout: kind('file') })).toBe('display');
    expect(progressMode({ ...base, stdout: kind('char') })).toBe('display');
    expect(progressMode({ ...base, stdout: undefined })).toBe('display');
    expect(progressMode({ ...base, recordsToStdout: false, stdout: kind('fifo') })).toBe('display');
  });
});
