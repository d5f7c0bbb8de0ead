// The webhook's one entry point (`npm run webhook`): reads the environment once, builds the real
// clients, logger and metrics, and wires them together. Nothing else in webhook/ reads process.env,
// creates a client or starts a timer.
import { readFile } from 'node:fs/promises';
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { checkPod, podReferences } from '../contract/index.ts';
import { systemTimers } from '../runtime/clock.ts';
import { createLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { abortOnSignals } from '../runtime/shutdown.ts';
import {
  fileCertificateSource,
  serviceCertificateSource,
  watchCertificate,
  type CertificateSource,
  type ServingIdentity,
} from '../runtime/certificates.ts';
import { parseWebhookConfig, type WebhookConfig } from './config.ts';
import { kubernetesWebhookConfigurations, publishCa } from './configuration.ts';
import { kubernetesReferenceReader } from '../runtime/references.ts';
import { WebhookServer } from './server.ts';

async function main(): Promise<void> {
  const { config, problems } = parseWebhookConfig(process.env);
  const logger = createLogger({ component: 'webhook', level: config.logLevel });
  if (problems.length > 0) {
    logger.fatal({ problems }, `invalid configuration:\n${problems.join('\n')}`);
    process.exitCode = 1;
    return;
  }
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (error) {
    logger.fatal({ err: error }, 'could not load the Kubernetes configuration (KUBECONFIG or in-cluster)');
    process.exitCode = 1;
    return;
  }
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let clientCaPem: string | undefined;
  try {
    clientCaPem = config.clientCaFile === undefined ? undefined : await readFile(config.clientCaFile, 'utf8');
  } catch (error) {
    logger.fatal({ err: error }, 'could not read CLIENT_CA_FILE');
    process.exitCode = 1;
    return;
  }
  const configurations = kubernetesWebhookConfigurations(
    kubeConfig.makeApiClient(AdmissionregistrationV1Api),
  );
  const server = new WebhookServer({
    logger,
    registry: createRegistry({ component: 'webhook' }),
    check: checkPod,
    references: podReferences,
    reader: kubernetesReferenceReader(core, { secretValues: 'blank' }),
    schedulerName: config.schedulerName,
    ...(clientCaPem !== undefined && { clientCaPem }),
    exposure: config.exposure,
  });
  const shutdown = abortOnSignals(logger);
  shutdown.signal.addEventListener('abort', () => {
    server
      .stop(config.shutdownGraceMs)
      .then(() => {
        logger.info('webhook stopped');
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exitCode = 1;
      });
  });

  try {
    const source = certificateSource(config, core);
    const identity = await source();
    const port = await server.start({ port: config.port, host: config.host, identity });
    const url = config.url && withPort(config.url, port);
    const publish = async (next: ServingIdentity): Promise<void> => {
      const target = { name: config.configurationName, namespace: config.namespace, url };
      if ((await publishCa(configurations, target, next.caPem)) === 'written') {
        logger.info({ configuration: config.configurationName }, 'caBundle published');
      }
    };
    await publish(identity);
    watchCertificate({
      source,
      current: identity,
      apply: async (next) => {
        server.setIdentity(next);
        await publish(next);
      },
      intervalMs: config.certificateRefreshMs,
      signal: shutdown.signal,
      logger,
      timers: systemTimers,
    });
    logger.info(
      { port, url: url?.href, tls: config.tls.source, schedulerName: config.schedulerName },
      'webhook serving',
    );
  } catch (error) {
    // Without a certificate or a published CA the API server cannot call us: exit so the Deployment
    // restarts the pod and the reason shows in its last log line.
    logger.fatal({ err: error }, 'could not start the webhook');
    process.exitCode = 1;
    shutdown.abort(error);
  }
}

function certificateSource(config: WebhookConfig, core: CoreV1Api): CertificateSource {
  const { tls } = config;
  if (tls.source === 'files') return fileCertificateSource(tls, (path) => readFile(path, 'utf8'));
  return serviceCertificateSource(
    core,
    { component: 'aci-burst-webhook', ...config, ...tls },
    config.renewBeforeMs,
    systemTimers,
  );
}

/** A WEBHOOK_URL without a port gets the one actually listened on, so WEBHOOK_PORT=0 works locally. */
function withPort(url: URL, port: number): URL {
  if (url.port !== '') return url;
  const copy = new URL(url);
  copy.port = String(port);
  return copy;
}

await main();
