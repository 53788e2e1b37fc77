/**
 * A data-extraction worker mixing I/O and CPU: each task is a file path; the worker reads the
 * file (I/O: the process's other tasks run meanwhile), hashes it and compresses it (CPU: this
 * is what needs several processes), and returns what it found.
 *
 *   node manual/examples/extract/list-files.mjs | npx looppool run manual/examples/extract/worker.ts --lines --output extract.jsonl
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { SafeWorker, yieldToLoop } from 'looppool/worker';

export interface Extracted {
  path: string;
  bytes: number;
  lines: number;
  sha256: string;
  gzipBytes: number;
  /** Compressed size / size (smaller compresses better; above 1 for small files, which gzip's header outweighs). */
  ratio: number;
}

/** A SafeWorker: on Ctrl-C the files being read are finished, so every started line gets its record. */
export default class Extract extends SafeWorker<string, Extracted> {
  override async processMessage(path: string): Promise<Extracted> {
    const info = await stat(path);
    if (!info.isFile()) throw new TypeError(`not a regular file: ${path}`);
    const data = await readFile(path);
    await yieldToLoop(); // let the other tasks of this process start their reads first
    const sha256 = createHash('sha256').update(data).digest('hex');
    const gzipBytes = gzipSync(data, { level: 6 }).length;
    let lines = 0;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) lines++;
    return { path, bytes: data.length, lines, sha256, gzipBytes, ratio: data.length === 0 ? 1 : Math.round((gzipBytes / data.length) * 1000) / 1000 };
  }
}
