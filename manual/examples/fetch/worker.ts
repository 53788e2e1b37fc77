/**
 * The FetchWorker of Python Looppool's README, for Node: a SafeWorker that fetches URLs — many
 * at once in each process, since a fetch is mostly waiting — and answers `[url, server header]`.
 */
import { SafeWorker, type TaskContext } from 'looppool/worker';

export default class FetchWorker extends SafeWorker<string, [string, string | null]> {
  override async processMessage(url: string, ctx: TaskContext): Promise<[string, string | null]> {
    const response = await fetch(url, { signal: ctx.signal }); // aborted on a timeout or a cancelled task
    await response.arrayBuffer(); // read the body so the connection can be reused
    return [url, response.headers.get('server')];
  }
}
