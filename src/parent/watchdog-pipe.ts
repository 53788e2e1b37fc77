/** The parent's end of a worker's watchdog pipe: one JSON line per blocked episode, parsed at this boundary. */
import type { Duplex } from 'node:stream';
import { MessageShapeError } from '../protocol/parse.ts';
import { parseWatchdogReport, ReportLineSplitter, type LoopBlockedReport } from '../protocol/watchdog-report.ts';

/**
 * Read `pipe` for good: each report goes to `report`; a line that is not one goes to `breach`
 * (the worker broke the protocol). The pipe's errors are ignored: the worker's exit reports its death.
 */
export function readWatchdogPipe(pipe: Duplex, report: (r: LoopBlockedReport) => void, breach: (detail: string) => void): void {
  const lines = new ReportLineSplitter();
  pipe.setEncoding('utf8');
  pipe.on('error', () => {});
  pipe.on('data', (chunk: string) => {
    try {
      for (const line of lines.push(chunk)) report(parseWatchdogReport(line));
    } catch (err) {
      if (err instanceof MessageShapeError) breach(err.message);
      else throw err;
    }
  });
}
