// The webhook's one entry point (`npm run webhook`): reads the environment once, builds the real
// clients, logger and metrics, and composes the review routes with the HTTPS service. Nothing else in
// webhook/ reads process.env, creates a client or starts a timer.
import { readFile } from 'node:fs/promises';
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { checkPod, podReferences } from '../contract/index.ts';
import {
  fileCertificateSource,
  serviceCertificateSource,
  type CertificateSource,
  type ServingIdentity,
} from '../runtime/certificates.ts';
import { HttpsService } from '../runtime/https-service.ts';
import { aborted } from '../runtime/lifecycle.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { runProcess, type ProcessContext } from '../runtime/process.ts';
import { kubernetesReferenceReader } from '../runtime/references.ts';
import { readConfig, type WebhookConfig } from './config.ts';
import { kubernetesWebhookConfigurations, publishCa } from './configuration.ts';
import { WebhookServer } from './server.ts';
import type { Clock } from '../runtime/clock.ts';

async function run(config: WebhookConfig, { logger, signal, timers }: ProcessContext): Promise<void> {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (error) {
    throw new Error('could not load the Kubernetes configuration (KUBECONFIG or in-cluster)', {
      cause: error,
    });
  }
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const clientCaPem = await readClientCa(config.clientCaFile);
  const configurations = kubernetesWebhookConfigurations(
    kubeConfig.makeApiClient(AdmissionregistrationV1Api),
  );
  const reviews = new WebhookServer({
    logger,
    registry: createRegistry({ component: 'webhook' }),
    check: checkPod,
    references: podReferences,
    reader: kubernetesReferenceReader(core, { secretValues: 'blank' }),
    schedulerName: config.schedulerName,
    ...(clientCaPem !== undefined && { clientCaPem }),
    exposure: config.exposure,
  });
  // Without a certificate or a published CA the API server cannot call us: start() throws, the
  // process exits and the Deployment restarts the pod, the reason in its last log line.
  const https: HttpsService = new HttpsService({
    handler: reviews.handler({ notReadyReasons: () => https.notReadyReasons() }),
    port: config.port,
    host: config.host,
    certificates: {
      source: certificateSource(config, core, timers),
      refreshMs: config.certificateRefreshMs,
      onIdentity: async (identity: ServingIdentity) => {
        const target = { name: config.configurationName, namespace: config.namespace, url: url() };
        if ((await publishCa(configurations, target, identity.caPem)) === 'written') {
          logger.info({ configuration: config.configurationName }, 'caBundle published');
        }
      },
    },
    ...(clientCaPem !== undefined && { clientCa: () => clientCaPem }),
    graceMs: config.shutdownGraceMs,
    logger,
    timers,
  });
  /** A WEBHOOK_URL without a port gets the one actually listened on, so WEBHOOK_PORT=0 works locally. */
  const url = (): URL | undefined => config.url && withPort(config.url, https.port ?? config.port);
  await https.start(signal);
  logger.info(
    { port: https.port, url: url()?.href, tls: config.tls.source, schedulerName: config.schedulerName },
    'webhook serving',
  );
  await aborted(signal);
  await https.done;
  logger.info('webhook stopped');
}

async function readClientCa(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error('could not read CLIENT_CA_FILE', { cause: error });
  }
}

function certificateSource(config: WebhookConfig, core: CoreV1Api, clock: Clock): CertificateSource {
  const { tls } = config;
  if (tls.source === 'files') return fileCertificateSource(tls, (path) => readFile(path, 'utf8'));
  return serviceCertificateSource(
    core,
    { component: 'aci-burst-webhook', ...config, ...tls },
    config.renewBeforeMs,
    clock,
  );
}

function withPort(url: URL, port: number): URL {
  if (url.port !== '') return url;
  const copy = new URL(url);
  copy.port = String(port);
  return copy;
}

await runProcess(
  { component: 'webhook', readConfig, run, failure: 'could not start the webhook' },
  process.env,
);
