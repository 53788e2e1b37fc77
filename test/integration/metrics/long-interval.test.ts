/**
 * The longest `reportInterval` (2^31 - 1 ms) is valid: nothing may turn it into a timer that
 * overflows, which Node fires every millisecond instead (with a TimeoutOverflowWarning).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../helpers/processes.ts';
import { startUdpSink, type UdpSink } from './udp-sink.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../fixtures/parents/longest-report-interval.mjs');

let sink: UdpSink | undefined;
let parentPid: number | undefined;
afterEach(async () => {
  if (parentPid !== undefined && isAlive(parentPid)) process.kill(parentPid, 'SIGKILL');
  parentPid = undefined;
  await sink?.close();
  sink = undefined;
});

describe('reportInterval 2147483647', () => {
  it('a pool with statsd starts, reads its workers with pidusage and reports without any timer overflow', async () => {
    sink = await startUdpSink();
    const parent = spawn(process.execPath, [script, String(sink.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    parentPid = parent.pid;
    let out = '';
    let err = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    parent.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => parent.once('close', resolve));
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out)).toEqual({ warnings: [] });
    const s = sink;
    // It did report: the pool's last report, and the extra one that read the worker.
    await s.until((r) => r.some((l) => l.name === 'lp.long.workers') && r.some((l) => l.name === 'lp.long_extra.worker.0.os.rss'), 'the reports');
  });
});
