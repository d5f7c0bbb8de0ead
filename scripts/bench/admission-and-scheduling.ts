// Benchmark of the two request/response processes over HTTPS on loopback, with the recorded fixtures
// the real kube-apiserver and kube-scheduler send: AdmissionReviews to the webhook, ExtenderArgs to the
// extender's /filter and /prioritize. Bounded: N requests per target at concurrency C.
//
//   npm run bench -- admission-and-scheduling [requests=2000] [concurrency=8]
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { checkPod } from '../../contract/index.ts';
import { selfSignedCredentials } from '../../extender/credentials.ts';
import { createExtenderApp, createExtenderMetrics } from '../../extender/server.ts';
import { closeServer, listenHttps } from '../../runtime/https-service.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { admissionReview } from '../../test/fixtures/admission/load.ts';
import { benchWebhook } from './webhook.ts';

const requests = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 8);
const hosts = ['127.0.0.1'];
const credentials = selfSignedCredentials(hosts, new Date());

const webhook = benchWebhook();
const { server: webhookServer, port: webhookPort } = await listenHttps(
  webhook.app({ notReadyReasons: () => [] }),
  { port: 0, host: '127.0.0.1', credentials: credentials.serving },
);

const registry = createRegistry({ component: 'bench-extender', processMetrics: false });
const extender = await listenHttps(
  createExtenderApp({
    view: { node: () => undefined, namespace: () => undefined, notReadyReasons: () => [] },
    logger: silentLogger(),
    registry,
    metrics: createExtenderMetrics(registry),
    check: checkPod,
  }),
  { port: 0, host: '127.0.0.1', credentials: credentials.serving },
);

const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca: credentials.caPem });
const fixture = (path: string): string =>
  readFileSync(new URL(`../../test/fixtures/${path}`, import.meta.url), 'utf8');

function post(port: number, path: string, body: string): Promise<number> {
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

async function measure(name: string, port: number, path: string, body: string): Promise<object> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < requests) {
      next += 1;
      const sent = performance.now();
      if ((await post(port, path, body)) !== 200) failures += 1;
      latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number): number =>
    Number((latencies[Math.floor(p * (latencies.length - 1))] ?? NaN).toFixed(2));
  return {
    name,
    requests,
    failures,
    perSecond: Math.round(requests / seconds),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

const review = JSON.stringify(admissionReview('deployment-pod-create'));
const required = JSON.stringify(admissionReview('required-hostpath-pod-create'));
const filterArgs = fixture('scheduler/args-nodes.json');
const results = [
  await measure('webhook: burst review (patch)', webhookPort, '/mutate/burst', review),
  await measure('webhook: required review (denial)', webhookPort, '/mutate/required', required),
  await measure('extender: filter (Nodes mode)', extender.port, '/filter', filterArgs),
  await measure('extender: prioritize (Nodes mode)', extender.port, '/prioritize', filterArgs),
];
console.log(
  JSON.stringify(
    {
      benchmark: 'admission and scheduling over HTTPS on loopback',
      node: process.version,
      concurrency,
      results,
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    },
    null,
    2,
  ),
);
agent.destroy();
await closeServer(webhookServer, 1000);
await closeServer(extender.server, 1000);
