/**
 * `looppool run` on a real terminal: records printed to the same terminal as the progress
 * display stay whole, and Ctrl-C typed in a tmux pane drains and exits 130.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.ts';
import { BIN, expectNoPoolLeft, fixture, ROOT, sleepTasks, uniqueName } from './helpers.ts';

// Made before the first test, not at import: a run that filters out every test imports the
// file but runs none of its hooks, and the directory was left behind.
let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'looppool-tty-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** A terminal that takes cursor moves, whatever TERM the tests run with (TERM=dumb draws no display). */
const CAPABLE = { ...process.env, TERM: 'xterm-256color' };
/** A terminal that prints escape sequences as text (Emacs' shell, some CI log viewers). */
const DUMB = { ...process.env, TERM: 'dumb' };

describe('looppool run on a terminal', () => {
  it('prints records above the live display when stdout is the same terminal, each on a line of its own', () => {
    const input = path.join(tmp, 'tasks.jsonl');
    writeFileSync(input, Array.from({ length: 300 }, (_, i) => `{"ms":5,"id":${i + 1}}\n`).join(''));
    const command = `node ${BIN} run ${fixture('sleep.mjs')} --size 2 --input ${input}`;
    const terminal = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: CAPABLE });
    expect(terminal.status).toBe(0);
    // What the terminal shows: the text with the display's redraws applied is hard to replay,
    // but every record must arrive whole, at the start of a line.
    const records = terminal.stdout.match(/(?<=^|\n|\x1b\[J)\{"line":\d+,"result":\{"done":\{"ms":5,"id":\d+\}\}\}\r?\n/g) ?? [];
    expect(new Set(records.map((r) => JSON.parse(r).line)).size).toBe(300);
    expect(terminal.stdout).toMatch(/looppool sleep: 300 tasks in .* 300 ok, 0 failed/);
  });

  it('draws no display when stdout is piped to a program writing to the same terminal (| cat): no cursor moves, every record stays', () => {
    const input = path.join(tmp, 'piped.jsonl');
    writeFileSync(input, Array.from({ length: 40 }, (_, i) => `{"ms":300,"id":${i + 1}}\n`).join(''));
    const command = `node ${BIN} run ${fixture('sleep.mjs')} --size 2 --concurrency 20 --input ${input} | cat`;
    const terminal = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: CAPABLE });
    expect(terminal.status).toBe(0);
    expect(terminal.stdout).not.toMatch(/\x1b\[\d*[FJ]/); // the display's cursor-up and erase
    const records = terminal.stdout.match(/\{"line":\d+,"result":\{"done":\{"ms":300,"id":\d+\}\}\}/g) ?? [];
    expect(new Set(records.map((r) => JSON.parse(r).line)).size).toBe(40);
    expect(terminal.stdout).toMatch(/looppool sleep: 40 tasks in .* 40 ok, 0 failed/);
  });

  // Before: the display's cursor-up and erase sequences, and top's alternate screen, were
  // written to a terminal that prints them as text (^[[2F^[[J between the frames).
  it('draws no display on a TERM=dumb terminal: plain notices, the records and the summary, no escape sequence', () => {
    const input = path.join(tmp, 'dumb.jsonl');
    writeFileSync(input, Array.from({ length: 20 }, (_, i) => `{"ms":300,"id":${i + 1}}\n`).join(''));
    const command = `node ${BIN} run ${fixture('sleep.mjs')} --size 2 --concurrency 5 --input ${input}`;
    const terminal = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: DUMB });
    expect(terminal.status).toBe(0);
    expect(terminal.stdout).not.toContain('\x1b');
    const records = terminal.stdout.match(/\{"line":\d+,"result":\{"done":\{"ms":300,"id":\d+\}\}\}/g) ?? [];
    expect(new Set(records.map((r) => JSON.parse(r).line)).size).toBe(20);
    expect(terminal.stdout).toMatch(/looppool sleep: 20 tasks in .* 20 ok, 0 failed/);
  });

  it('looppool top on a TERM=dumb terminal prints its screens one after another, without taking the screen', () => {
    const terminal = spawnSync('script', ['-qfec', `node ${BIN} top -n 2 --interval 100`, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: DUMB });
    expect(terminal.status).toBe(0);
    expect(terminal.stdout).not.toContain('\x1b');
    const capable = spawnSync('script', ['-qfec', `node ${BIN} top -n 1`, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: CAPABLE });
    expect(capable.stdout).toContain('\x1b[?1049h'); // the alternate screen, given back at the end
  });

  it('Ctrl-C typed in a tmux pane reaches the whole foreground group: it drains and exits 130', async () => {
    const name = uniqueName('tty');
    const input = path.join(tmp, `${name}.jsonl`);
    const output = path.join(tmp, `${name}.out.jsonl`);
    const status = path.join(tmp, `${name}.status`);
    writeFileSync(input, sleepTasks(2000, 200));
    const socket = path.join(tmp, `${name}.tmux`); // a kill-server leaves its socket file: here, it goes with tmp
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
    try {
      // The shell that writes the exit code ignores SIGINT, whatever $SHELL (tmux's shell) is: dash,
      // as the pane's shell, died of the Ctrl-C before it wrote it, where bash waits for its child.
      // The command still gets it: Node gives every signal it inherits ignored its default action back.
      const script = path.join(tmp, `${name}.sh`);
      writeFileSync(script, `trap '' INT\ncat '${input}' | '${process.execPath}' '${BIN}' run '${fixture('sleep.mjs')}' --size 2 --concurrency 16 --name ${name} --output '${output}'\necho "exit=$?" > '${status}'\nsleep 30\n`);
      tmux('new-session', '-d', '-s', 'run', '-x', '160', '-y', '30', `exec sh '${script}'`);
      await waitFor(() => /looppool .* done/.test(tmux('capture-pane', '-p', '-t', 'run')), 'the progress display in the pane');
      await waitFor(() => existsSync(output) && readFileSync(output, 'utf8').split('\n').length > 40, 'some records');
      tmux('send-keys', '-t', 'run', 'C-c');
      await waitFor(() => existsSync(status), 'the command to exit', 20_000);
      expect(readFileSync(status, 'utf8').trim()).toBe('exit=130');
      const screen = tmux('capture-pane', '-p', '-t', 'run', '-S', '-50');
      const last = Number(/every line up to (\d+) has its record/.exec(screen.replace(/\n/g, ''))?.[1]);
      const lines = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l).line as number);
      expect(lines.sort((a, b) => a - b)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      await expectNoPoolLeft(name);
    } finally {
      spawnSync('tmux', ['-S', socket, 'kill-server']);
    }
  });
});
