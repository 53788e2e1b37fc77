/**
 * The getting-started page, followed word for word: its two files, run as the page says, in a
 * project that installs looppool from this checkout.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const page = readFileSync(path.join(root, 'manual/getting-started.md'), 'utf8');
const blocks = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
describe('manual/getting-started.md', () => {
  it('runs as written and prints what it says', async () => {
    expect(blocks).toHaveLength(2);
    // Made here, not at import: a run that filters this test out imports the file but runs no hook.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'looppool-getting-started-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'hello-looppool', type: 'module' }));
    writeFileSync(path.join(dir, 'hash-worker.ts'), blocks[0] as string);
    writeFileSync(path.join(dir, 'main.ts'), blocks[1] as string);
    // `npm install looppool`, without the network: the package is this checkout.
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(root, path.join(dir, 'node_modules/looppool'));
    const tsx = path.join(root, 'node_modules/.bin/tsx');
    const { stdout } = await promisify(execFile)(tsx, ['main.ts'], { cwd: dir, timeout: 60_000 });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(7);
    for (const line of lines.slice(0, 6)) expect(line).toMatch(/^worker [01], task \d+: [0-9a-f]{16}$/);
    expect(lines[6]).toBe('6 tasks done');
    expect(new Set(lines.slice(1, 6).map((l) => l.slice(0, 8))).size).toBe(2); // both workers took tasks
  });
});
