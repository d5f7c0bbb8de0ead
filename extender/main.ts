// Entry point of the scheduler extender (`npm run extender`): reads the environment once, wires the
// node/namespace caches, metrics and logger into the HTTPS server, and drains on SIGTERM.
// `npm run extender -- tls-secret` instead prints the TLS Secret the manifests mount (see README).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, type Logger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import type { KeyPairPem } from '../runtime/tls.ts';
import { abortOnSignals } from '../runtime/shutdown.ts';
import { readConfig, serviceHosts, type ExtenderConfig } from './config.ts';
import { selfSignedCredentials, tlsSecret } from './credentials.ts';
import { watchCluster } from './cluster-view.ts';
import { closeServer, createExtenderApp, createExtenderMetrics, listenHttps } from './server.ts';

const TLS_SECRET_NAME = 'aci-burst-extender-tls';

function servingKeyPair(config: ExtenderConfig, logger: Logger): KeyPairPem {
  if (config.tls.kind === 'files') {
    return {
      certPem: readFileSync(config.tls.certFile, 'utf8'),
      keyPem: readFileSync(config.tls.keyFile, 'utf8'),
    };
  }
  const credentials = selfSignedCredentials(config.tls.hosts, new Date());
  // The CA is public: logging it is how an operator or a test fills the scheduler's caData.
  logger.info(
    { caData: Buffer.from(credentials.caPem).toString('base64'), hosts: config.tls.hosts },
    'serving with a self-signed certificate; trust this CA in the scheduler extender tlsConfig.caData',
  );
  return credentials.serving;
}

async function serve(config: ExtenderConfig, logger: Logger): Promise<void> {
  const shutdown = abortOnSignals(logger);
  try {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    const registry = createRegistry({ component: 'extender' });
    const view = watchCluster(kubeConfig, logger, shutdown.signal);
    const app = createExtenderApp({ view, logger, registry, metrics: createExtenderMetrics(registry) });
    const { server, port } = await listenHttps(app, {
      port: config.port,
      ...(config.bindAddress !== undefined && { host: config.bindAddress }),
      credentials: servingKeyPair(config, logger),
    });
    logger.info({ port, bindAddress: config.bindAddress ?? 'all' }, 'listening');
    await once(shutdown.signal, 'abort');
    await closeServer(server, config.shutdownGraceMs);
    logger.info('stopped');
  } finally {
    // Stops the informers when start-up failed, so the process can exit.
    shutdown.abort();
  }
}

function printTlsSecret(config: ExtenderConfig): void {
  const credentials = selfSignedCredentials(serviceHosts(config.serviceName, config.namespace), new Date());
  process.stdout.write(
    `${JSON.stringify(tlsSecret(TLS_SECRET_NAME, config.namespace, credentials), null, 2)}\n`,
  );
}

async function main(): Promise<void> {
  const result = readConfig(process.env);
  const logger = createLogger({ component: 'extender', level: result.ok ? result.config.logLevel : 'info' });
  if (!result.ok) {
    logger.fatal({ problems: result.problems }, 'invalid configuration');
    process.exitCode = 1;
    return;
  }
  if (process.argv[2] === 'tls-secret') {
    printTlsSecret(result.config);
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
