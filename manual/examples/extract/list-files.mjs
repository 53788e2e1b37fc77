#!/usr/bin/env node
/**
 * Prints the path of every file under a directory, one per line, for `looppool run --lines`.
 * Works without git. Skips .git, and the files the examples' commands write (extract.jsonl,
 * jobs.jsonl: a second run would list the output it is writing); includes node_modules
 * (thousands of files after `npm install`, which is what makes the progress display worth
 * watching).
 *
 *   node manual/examples/extract/list-files.mjs [directory] [--no-deps]
 *
 * The directory defaults to the root of this repository; paths are printed relative to the
 * current directory, which is where the worker processes open them.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const skipDeps = args.includes('--no-deps');
const root = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../../..'));
const skip = new Set(['.git', 'extract.jsonl', 'jobs.jsonl', ...(skipDeps ? ['node_modules'] : [])]);

process.stdout.on('error', () => process.exit(0)); // the reader went away: nothing more to do

async function walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full);
    else if (entry.isFile()) process.stdout.write(`${path.relative(process.cwd(), full) || full}\n`);
  }
}

await walk(root);
