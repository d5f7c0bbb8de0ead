// Benchmark of the two request/response processes over HTTPS on loopback, with the recorded fixtures
// the real kube-apiserver and kube-scheduler send: AdmissionReviews to the webhook, ExtenderArgs to the
// extender's /filter and /prioritize. Bounded: N requests per target at concurrency C.
//
//   npm run bench -- admission-and-scheduling [requests=2000] [concurrency=8]
import { readFileSync } from 'node:fs';
import { checkPod } from '../../contract/index.ts';
import { selfSignedCredentials } from '../../extender/credentials.ts';
import { createExtenderApp, createExtenderMetrics } from '../../extender/server.ts';
import { closeServer, listenHttps } from '../../runtime/https-service.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { admissionReview } from '../../test/fixtures/admission/load.ts';
import { measureLoad } from './https-load.ts';
import { benchWebhook } from './webhook.ts';

const requests = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 8);
const hosts = ['127.0.0.1'];
const credentials = selfSignedCredentials(hosts, new Date());

const webhook = benchWebhook();
const { server: webhookServer, port: webhookPort } = await listenHttps(
  webhook.handler({ notReadyReasons: () => [] }),
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

const fixture = (path: string): string =>
  readFileSync(new URL(`../../test/fixtures/${path}`, import.meta.url), 'utf8');

const measure = (name: string, port: number, path: string, body: string): Promise<object> =>
  measureLoad({ name, port, path, body, requests, concurrency, caPem: credentials.caPem });

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
await closeServer(webhookServer, 1000);
await closeServer(extender.server, 1000);
