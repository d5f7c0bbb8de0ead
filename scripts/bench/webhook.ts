// The webhook benchmark (reviews per second and latency against a bare HTTPS server in the same run),
// and the webhook as the benchmarks run it: the real server and check, with references that read nothing
// (every Secret and ConfigMap absent, every ServiceAccount present), so only the webhook's own work counts.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { checkPod, podReferences } from '../../contract/index.ts';
import { selfSignedCredentials } from '../../extender/credentials.ts';
import { admissionReview } from '../../test/fixtures/admission/load.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { closeServer, listenHttps } from '../../runtime/https-service.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { WebhookServer } from '../../webhook/server.ts';
import { LoadThread, type LoadOptions, type LoadResult } from './https-load.ts';

export function benchWebhook(): WebhookServer {
  return new WebhookServer({
    logger: silentLogger(),
    registry: createRegistry({ component: 'bench-webhook', processMetrics: false }),
    check: checkPod,
    references: podReferences,
    reader: {
      configMap: () => Promise.resolve(undefined),
      secret: () => Promise.resolve(undefined),
      serviceAccount: (_namespace, name) => Promise.resolve({ metadata: { name } }),
      claim: () => Promise.resolve(undefined),
      persistentVolume: () => Promise.resolve(undefined),
    },
    schedulerName: 'aci-burst-scheduler',
  });
}

/**
 * The peer: a bare node:https server that reads the body, parses the AdmissionReview and answers a
 * fixed allowed response with its uid, so the ratio shows what the webhook's own work costs.
 */
function startBareServer(credentials: { certPem: string; keyPem: string }): Promise<Server> {
  const server = createServer({ cert: credentials.certPem, key: credentials.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: string } };
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: review.request?.uid ?? '', allowed: true },
        }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve(server);
    }),
  );
}

interface Round extends LoadResult {
  /** CPU time of this thread (the servers'; the load runs on its own) per request. */
  serverCpuMs: number;
}

async function round(load: LoadThread, options: LoadOptions): Promise<Round> {
  const before = process.threadCpuUsage();
  const result = await load.measure(options);
  const cpu = process.threadCpuUsage(before);
  return { ...result, serverCpuMs: (cpu.user + cpu.system) / 1000 / options.requests };
}

function summary(rounds: Round[]): {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  serverCpuMsPerRequest: number;
} {
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    perSecond: Math.round(mean(rounds.map((r) => r.perSecond))),
    p50Ms: Math.max(...rounds.map((r) => r.p50Ms)),
    p99Ms: Math.max(...rounds.map((r) => r.p99Ms)),
    failures: rounds.reduce((sum, r) => sum + r.failures, 0),
    serverCpuMsPerRequest: Number(mean(rounds.map((r) => r.serverCpuMs)).toFixed(3)),
  };
}

/**
 *   npm run bench -- webhook [requests=4000] [concurrency=8]
 * The burst review (the patch every steered pod gets) against the bare server, alternating rounds so
 * both see the same machine load; one JSON line. The load client runs on a thread of its own: on the
 * servers' event loop its cost would be added to both sides and flatter the ratio. `ratio` compares
 * what each server costs its thread per request (reviews per CPU-second: what one core sustains),
 * which the client's speed does not move and the machine's other load moves little; `throughputRatio`
 * is the rate seen, which the one client thread and that other load limit too.
 */
async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 4000);
  const concurrency = Number(process.argv[3] ?? 8);
  const credentials = selfSignedCredentials(['127.0.0.1'], new Date());
  const webhook = benchWebhook();
  const { server: webhookServer, port: webhookPort } = await listenHttps(
    webhook.handler({ notReadyReasons: () => [] }),
    { port: 0, host: '127.0.0.1', credentials: credentials.serving },
  );
  const bare = await startBareServer(credentials.serving);
  const barePort = (bare.address() as AddressInfo).port;
  const body = JSON.stringify(admissionReview('deployment-pod-create'));
  const options = { body, concurrency, caPem: credentials.caPem, requests: Math.ceil(requests / 4) };
  const ofWebhook = { ...options, name: 'webhook', port: webhookPort, path: '/mutate/burst' };
  const ofBare = { ...options, name: 'bare', port: barePort, path: '/' };
  const load = new LoadThread();
  // Warm both (JIT, TLS sessions), then two alternating rounds each.
  await load.measure({ ...ofWebhook, requests: 200 });
  await load.measure({ ...ofBare, requests: 200 });
  const rounds: { webhook: Round[]; bare: Round[] } = { webhook: [], bare: [] };
  for (let index = 0; index < 2; index++) {
    rounds.webhook.push(await round(load, ofWebhook));
    rounds.bare.push(await round(load, ofBare));
  }
  await load.close();
  const webhookSummary = summary(rounds.webhook);
  const bareSummary = summary(rounds.bare);
  console.log(
    JSON.stringify({
      benchmark: 'webhook',
      node: process.version,
      requests,
      concurrency,
      webhook: webhookSummary,
      bare: bareSummary,
      ratio: Number((bareSummary.serverCpuMsPerRequest / webhookSummary.serverCpuMsPerRequest).toFixed(2)),
      throughputRatio: Number((webhookSummary.perSecond / bareSummary.perSecond).toFixed(2)),
      goal: { ratio: 0.8, p99Ms: 5 },
    }),
  );
  await closeServer(webhookServer, 1000);
  bare.close();
}

if (import.meta.main) await main();
