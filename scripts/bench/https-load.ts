// A bounded HTTPS load on loopback: `requests` POSTs of one body at `concurrency` over keep-alive
// connections, with rate and latency percentiles. Shared by the benchmarks that compare servers.
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';

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

export async function measureLoad(options: {
  name: string;
  port: number;
  path: string;
  body: string;
  requests: number;
  concurrency: number;
  caPem: string;
}): Promise<LoadResult> {
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
