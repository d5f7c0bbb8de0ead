// Entry point of the scheduler extender (`npm run extender`): reads the environment once, wires the
// node/namespace caches, metrics and logger into the HTTPS server, keeps its serving certificate
// current, and drains on SIGTERM.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  fileCertificateSource,
  serviceCertificateSource,
  watchCertificate,
  type CertificateSource,
} from '../runtime/certificates.ts';
import { secureContext } from '../runtime/client-auth.ts';
import { systemTimers } from '../runtime/clock.ts';
import { createLogger, type Logger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { abortOnSignals } from '../runtime/shutdown.ts';
import { readConfig, type ExtenderConfig } from './config.ts';
import { selfSignedCredentials } from './credentials.ts';
import { watchCluster } from './cluster-view.ts';
import { closeServer, createExtenderApp, createExtenderMetrics, listenHttps } from './server.ts';

/** The common name of the client certificate the extender keeps for kube-scheduler. */
const SCHEDULER_CLIENT_NAME = 'aci-burst-scheduler';

function certificateSource(
  config: ExtenderConfig,
  kubeConfig: KubeConfig,
  logger: Logger,
): CertificateSource {
  const { tls } = config;
  if (tls.kind === 'files') return fileCertificateSource(tls, (path) => readFile(path, 'utf8'));
  if (tls.kind === 'secret') {
    return serviceCertificateSource(
      kubeConfig.makeApiClient(CoreV1Api),
      // The second scheduler's client certificate lives beside the serving one.
      { component: 'aci-burst-extender', ...config, ...tls, clientCommonName: SCHEDULER_CLIENT_NAME },
      config.renewBeforeMs,
      systemTimers,
    );
  }
  const credentials = selfSignedCredentials(tls.hosts, new Date(systemTimers.now()));
  // The CA is public: logging it is how an operator or a test fills the scheduler's caData.
  logger.info(
    { caData: Buffer.from(credentials.caPem).toString('base64'), hosts: tls.hosts },
    'serving with a self-signed certificate; trust this CA in the scheduler extender tlsConfig.caData',
  );
  const identity = { ...credentials.serving, caPem: credentials.caPem };
  return () => Promise.resolve(identity);
}

async function serve(config: ExtenderConfig, logger: Logger): Promise<void> {
  const shutdown = abortOnSignals(logger);
  try {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    const source = certificateSource(config, kubeConfig, logger);
    const identity = await source();
    const registry = createRegistry({ component: 'extender' });
    const view = watchCluster(kubeConfig, { logger, signal: shutdown.signal, timers: systemTimers });
    const { clientAuth } = config;
    const clientCaFile = clientAuth.kind === 'require' ? clientAuth.caFile : undefined;
    const fixedClientCa = clientCaFile === undefined ? undefined : await readFile(clientCaFile, 'utf8');
    // Without CLIENT_CA_FILE the Secret's CA, which signed the scheduler's client certificate, and may change with it.
    const clientCa = (current: { caPem: string | undefined }): string | undefined =>
      clientAuth.kind === 'require' ? (fixedClientCa ?? current.caPem) : undefined;
    const app = createExtenderApp({
      view,
      logger,
      registry,
      metrics: createExtenderMetrics(registry),
      requireClientCertificate: clientAuth.kind === 'require',
    });
    const clientCaPem = clientCa(identity);
    const { server, port } = await listenHttps(app, {
      port: config.port,
      ...(config.bindAddress !== undefined && { host: config.bindAddress }),
      credentials: identity,
      ...(clientCaPem !== undefined && { clientCaPem }),
    });
    // A self-signed certificate lives as long as the process; files and the Secret change under it.
    if (config.tls.kind !== 'self-signed') {
      watchCertificate({
        source,
        current: identity,
        apply: (next) => {
          server.setSecureContext(secureContext(next, clientCa(next)));
          return Promise.resolve();
        },
        intervalMs: config.certificateRefreshMs,
        signal: shutdown.signal,
        logger,
        timers: systemTimers,
      });
    }
    logger.info(
      {
        port,
        bindAddress: config.bindAddress ?? 'all',
        tls: config.tls.kind,
        clientAuth: config.clientAuth.kind,
        ...(config.tls.kind === 'secret' && { secret: config.tls.secretName }),
      },
      'listening',
    );
    await once(shutdown.signal, 'abort');
    await closeServer(server, config.shutdownGraceMs);
    logger.info('stopped');
  } finally {
    // Stops the informers and the certificate refresh when start-up failed, so the process can exit.
    shutdown.abort();
  }
}

async function main(): Promise<void> {
  const result = readConfig(process.env);
  const logger = createLogger({ component: 'extender', level: result.ok ? result.config.logLevel : 'info' });
  if (!result.ok) {
    logger.fatal({ problems: result.problems }, 'invalid configuration');
    process.exitCode = 1;
    return;
  }
  try {
    await serve(result.config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'extender failed');
    process.exitCode = 1;
  }
}

await main();
