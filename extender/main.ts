// Entry point of the scheduler extender (`npm run extender`): reads the environment once, and
// composes the node/namespace caches, metrics and logger with the HTTPS service, which keeps its
// serving certificate current and drains on SIGTERM.
import { readFile } from 'node:fs/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  fileCertificateSource,
  serviceCertificateSource,
  type CertificateSource,
} from '../runtime/certificates.ts';
import { HttpsService } from '../runtime/https-service.ts';
import { aborted } from '../runtime/lifecycle.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Clock } from '../runtime/clock.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { runProcess, type ProcessContext } from '../runtime/process.ts';
import { readConfig, type ExtenderConfig } from './config.ts';
import { selfSignedCredentials } from './credentials.ts';
import { watchCluster } from './cluster-view.ts';
import { createExtenderApp, createExtenderMetrics } from './server.ts';

/** The common name of the client certificate the extender keeps for kube-scheduler. */
const SCHEDULER_CLIENT_NAME = 'aci-burst-scheduler';

function certificateSource(
  config: ExtenderConfig,
  kubeConfig: KubeConfig,
  logger: Logger,
  clock: Clock,
): CertificateSource {
  const { tls } = config;
  if (tls.kind === 'files') return fileCertificateSource(tls, (path) => readFile(path, 'utf8'));
  if (tls.kind === 'secret') {
    return serviceCertificateSource(
      kubeConfig.makeApiClient(CoreV1Api),
      // The second scheduler's client certificate lives beside the serving one.
      { component: 'aci-burst-extender', ...config, ...tls, clientCommonName: SCHEDULER_CLIENT_NAME },
      config.renewBeforeMs,
      clock,
    );
  }
  const credentials = selfSignedCredentials(tls.hosts, new Date(clock.now()));
  // The CA is public: logging it is how an operator or a test fills the scheduler's caData.
  logger.info(
    { caData: Buffer.from(credentials.caPem).toString('base64'), hosts: tls.hosts },
    'serving with a self-signed certificate; trust this CA in the scheduler extender tlsConfig.caData',
  );
  const identity = { ...credentials.serving, caPem: credentials.caPem };
  return () => Promise.resolve(identity);
}

async function run(config: ExtenderConfig, { logger, signal, timers }: ProcessContext): Promise<void> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const registry = createRegistry({ component: 'extender' });
  const view = watchCluster(kubeConfig, { logger, signal, timers });
  const { clientAuth } = config;
  const fixedClientCa =
    clientAuth.kind === 'require' && clientAuth.caFile !== undefined
      ? await readFile(clientAuth.caFile, 'utf8')
      : undefined;
  const https = new HttpsService({
    handler: createExtenderApp({
      view,
      logger,
      registry,
      metrics: createExtenderMetrics(registry),
      requireClientCertificate: clientAuth.kind === 'require',
    }),
    port: config.port,
    host: config.bindAddress,
    certificates: {
      source: certificateSource(config, kubeConfig, logger, timers),
      // A self-signed certificate lives as long as the process; files and the Secret change under it.
      refreshMs: config.tls.kind === 'self-signed' ? undefined : config.certificateRefreshMs,
    },
    // Without CLIENT_CA_FILE the Secret's CA, which signed the scheduler's client certificate, and may change with it.
    clientCa: (identity) => (clientAuth.kind === 'require' ? (fixedClientCa ?? identity.caPem) : undefined),
    graceMs: config.shutdownGraceMs,
    logger,
    timers,
  });
  await https.start(signal);
  logger.info(
    {
      port: https.port,
      bindAddress: config.bindAddress ?? 'all',
      tls: config.tls.kind,
      clientAuth: config.clientAuth.kind,
      ...(config.tls.kind === 'secret' && { secret: config.tls.secretName }),
    },
    'listening',
  );
  await aborted(signal);
  await https.done;
  logger.info('stopped');
}

await runProcess({ component: 'extender', readConfig, run, failure: 'extender failed' }, process.env);
