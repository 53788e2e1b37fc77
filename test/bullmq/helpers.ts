/**
 * Shared by the BullMQ tests: the Redis check (fail loudly, never skip), unique queue names,
 * queues removed after each test, and consumers closed after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterEach, beforeEach } from 'vitest';
import type { BullmqConsumer } from 'looppool/bullmq';

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

const here = path.dirname(fileURLToPath(import.meta.url));

/** Absolute path of a fixture under test/fixtures/bullmq. */
export function bullmqFixture(name: string): string {
  return path.resolve(here, '../fixtures/bullmq', name);
}

/** PING Redis; rejects with how to start it when it does not answer within 3 s. */
export function pingRedis(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(REDIS_PORT, REDIS_HOST);
    let reply = '';
    const fail = (why: string): void => {
      socket.destroy();
      reject(
        new Error(
          `Redis is not answering on ${REDIS_HOST}:${REDIS_PORT} (${why}). The BullMQ tests need a real Redis: ` +
            'start one with `redis-server --daemonize yes --port 6379 --save ""`',
        ),
      );
    };
    socket.setTimeout(3_000, () => fail('no answer within 3 s'));
    socket.on('error', (error) => fail(error.message));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (!reply.includes('\r\n')) return;
      socket.end();
      if (reply.startsWith('+PONG')) resolve();
      else fail(`it answered ${JSON.stringify(reply.trim())} to PING`);
    });
  });
}

/**
 * A Redis of a test's own on a free port, so that it can go away (the machine's Redis stays):
 * `stop()` kills it (its data is gone), `start()` starts it again on the same port.
 * The caller stops it in a `finally`.
 */
export async function privateRedis(): Promise<{ url: string; port: number; start(): Promise<void>; stop(): Promise<void> }> {
  const url = await closedPortUrl();
  const port = Number(new URL(url).port);
  let server: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (server === undefined || server.exitCode !== null || server.signalCode !== null) return;
    const exited = once(server, 'exit');
    server.kill('SIGKILL');
    await exited;
  };
  const start = async (): Promise<void> => {
    await stop();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let tries = 0; ; tries++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(true));
        socket.on('error', () => resolve(false));
        socket.on('connect', () => socket.destroy());
      });
      if (up) return;
      if (tries === 200) throw new Error(`redis-server did not listen on ${port} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await start();
  return { url, port, start, stop };
}

/** A `redis://` URL of a local port nothing listens on. */
export async function closedPortUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `redis://127.0.0.1:${port}`;
}

const queues: Queue[] = [];
const consumers: BullmqConsumer<any, any>[] = [];

/** A queue name no other test (or test run) uses. */
export function uniqueQueueName(tag: string): string {
  return `looppool-test-${tag}-${randomUUID().slice(0, 8)}`;
}

/** A BullMQ Queue on `name`, obliterated and closed after the test. */
export function openQueue(name: string): Queue {
  const queue = new Queue(name, { connection: { host: REDIS_HOST, port: REDIS_PORT } });
  queue.on('error', () => {}); // a lost connection fails the calls that need it
  queues.push(queue);
  return queue;
}

/** Close `consumer` after the test (force: jobs go back to their queue), before its pool is stopped. */
export function closeAfterTest<C extends BullmqConsumer<any, any>>(consumer: C): C {
  consumers.push(consumer);
  return consumer;
}

/**
 * Register the Redis check and the cleanup for the calling test file. The check runs once and
 * fails every test (not skips it: vitest skips the tests of a failed beforeAll) when Redis is down.
 */
export function useRedis(): void {
  let ping: Promise<void> | undefined;
  beforeEach(() => (ping ??= pingRedis()));
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close({ force: true })));
    for (const queue of queues.splice(0)) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
}
