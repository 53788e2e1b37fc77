/**
 * Runs the FetchWorker over 20 URLs of a local HTTP server that this script starts itself (no
 * internet needed), printing `[url, server header]` as results arrive.
 *
 *   npx tsx manual/examples/fetch/main.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'looppool';

const server = http.createServer((request, response) => {
  // Each path answers after a short delay, with its own Server header.
  setTimeout(() => {
    response.setHeader('server', `example/${request.url?.split('/')[2] ?? '0'}`);
    response.end('ok');
  }, 50);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const urls = Array.from({ length: 20 }, (_, i) => `http://127.0.0.1:${port}/page/${i}`);

const pool = new Pool<string, [string, string | null]>({ worker: new URL('./worker.ts', import.meta.url), size: 2, concurrency: 10 });
try {
  await pool.start();
  for await (const [url, serverHeader] of pool.map(urls, { ordered: false })) console.log(JSON.stringify([url, serverHeader]));
  console.log(`${pool.stats().done} pages fetched by ${pool.size} worker processes`);
} finally {
  await pool.stop();
  server.close();
}
