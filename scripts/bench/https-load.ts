// A bounded HTTPS load on loopback: `requests` POSTs of one body at `concurrency` over keep-alive
// connections, with rate and latency percentiles, in the caller's thread or one of its own (LoadThread).
// Shared by the benchmarks that compare servers.
import { Agent, request } from 'node:https';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { parentPort, Worker, workerData } from 'node:worker_threads';

export interface LoadResult {
  name: string;
  requests: number;
  failures: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function post(agent: Agent, port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        response.resume();
        response.on('end', () => {
          resolve(response.statusCode ?? 0);
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export interface LoadOptions {
  name: string;
  port: number;
  path: string;
  body: string;
  requests: number;
  concurrency: number;
  caPem: string;
}

export async function measureLoad(options: LoadOptions): Promise<LoadResult> {
  const { requests, concurrency } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca: options.caPem });
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < requests) {
      next += 1;
      const sent = performance.now();
      if ((await post(agent, options.port, options.path, options.body)) !== 200) failures += 1;
      latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number): number =>
    Number((latencies[Math.floor(p * (latencies.length - 1))] ?? NaN).toFixed(2));
  return {
    name: options.name,
    requests,
    failures,
    perSecond: Math.round(requests / seconds),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

/**
 * A load client on a thread of its own, so its TLS and HTTP work is not counted as the server's (as the
 * API server's is not: another process, usually another machine). The servers under test stay on the
 * caller's thread, whose CPU time (process.threadCpuUsage) is then theirs alone.
 */
const LOAD_THREAD = 'https-load';

export class LoadThread {
  readonly #worker = new Worker(new URL(import.meta.url), { workerData: LOAD_THREAD });

  async measure(options: LoadOptions): Promise<LoadResult> {
    this.#worker.postMessage(options);
    const [result] = (await once(this.#worker, 'message')) as [LoadResult];
    return result;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

if (workerData === LOAD_THREAD && parentPort !== null) {
  const caller = parentPort;
  caller.on('message', (options: LoadOptions) => {
    void measureLoad(options).then((result) => {
      caller.postMessage(result);
    });
  });
}
