// The connector's one entry point: reads the environment once, builds the real Kubernetes and Azure
// clients, wires the node controller, the pod informer and controller, the kubelet API and the ops
// endpoints, and shuts them down in order on SIGTERM (container groups keep running).
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Server } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import express from 'express';
import { DEFAULT_ACI_LIMITS } from '../contract/capability.ts';
import { createLogger, type Logger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { closeSilentConnections, HTTP_LIMITS } from '../runtime/http-limits.ts';
import { opsRouter } from '../runtime/ops.ts';
import { abortOnSignals } from '../runtime/shutdown.ts';
import { createCertificateAuthority, issueCertificate } from '../runtime/tls.ts';
import { AciContainerGroups, ThrottleGate } from './aci.ts';
import { createAzureClients } from './azure-client.ts';
import { parseConfig, type ConnectorConfig } from './config.ts';
import { AzureHealth } from './health.ts';
import { createKubeletApi } from './kubelet-api.ts';
import { LogFollowers, LogReadBudget } from './log-followers.ts';
import {
  KubeEventRecorder,
  KubeNodeApi,
  KubePodApi,
  SubjectAccessReviewAuthorizer,
  watchNodePods,
} from './kube.ts';
import { createConnectorMetrics } from './metrics.ts';
import { NodeController } from './node.ts';
import { CreatePacer } from './pacing.ts';
import { PodController } from './pod-controller.ts';

const IN_CLUSTER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
/** Log reads allowed at once before the per-minute budget spaces them: a few `kubectl logs` together. */
const LOG_READ_BURST = 10;

function readOptional(path: string | undefined): string | undefined {
  return path === undefined ? undefined : readFileSync(path, 'utf8');
}

/** The cluster's CA, for the ca.crt file mounted beside service-account tokens. */
function clusterCaPem(kubeConfig: KubeConfig): string | undefined {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  if (cluster?.caFile) return readFileSync(cluster.caFile, 'utf8');
  return undefined;
}

/** The kube-system namespace's UID identifies the cluster unless ACI_CLUSTER_ID names it. */
async function resolveClusterId(config: ConnectorConfig, kubeConfig: KubeConfig): Promise<string> {
  if (config.clusterId !== undefined) return config.clusterId;
  const namespace = await kubeConfig.makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' });
  return namespace.metadata?.uid ?? 'unknown';
}

function kubeletTls(config: ConnectorConfig): {
  certPem: string;
  keyPem: string;
  clientCaPem: string;
} {
  const clientCaFile = config.kubelet.clientCaFile ?? (existsSync(IN_CLUSTER_CA) ? IN_CLUSTER_CA : undefined);
  const clientCaPem = readOptional(clientCaFile);
  if (clientCaPem === undefined) {
    throw new Error(
      'KUBELET_CLIENT_CA_FILE is required outside a cluster: the kubelet API serves pod logs and must verify its callers',
    );
  }
  if (config.kubelet.certFile !== undefined && config.kubelet.keyFile !== undefined) {
    return {
      certPem: readFileSync(config.kubelet.certFile, 'utf8'),
      keyPem: readFileSync(config.kubelet.keyFile, 'utf8'),
      clientCaPem,
    };
  }
  // The API server does not verify kubelet serving certificates unless told to, so a self-signed one serves.
  const ca = createCertificateAuthority({ commonName: `${config.nodeName}-kubelet-ca` });
  const serving = issueCertificate(
    ca,
    { commonName: config.nodeName, hosts: [config.node.internalIP, config.nodeName] },
    'server',
  );
  return { ...serving, clientCaPem };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
}

async function run(config: ConnectorConfig, logger: Logger): Promise<void> {
  const shutdown = abortOnSignals(logger);
  const clock = { now: () => Date.now() };
  const registry = createRegistry({ component: 'connector' });
  const metrics = createConnectorMetrics(registry);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const { client } = createAzureClients({
    subscriptionId: config.azure.subscriptionId,
    ...(config.azure.tenantId !== undefined && { tenantId: config.azure.tenantId }),
    ...(config.azure.clientId !== undefined && { clientId: config.azure.clientId }),
    ...(config.azure.clientSecret !== undefined && { clientSecret: config.azure.clientSecret }),
    ...(config.azure.authorityHost !== undefined && { authorityHost: config.azure.authorityHost }),
    ...(config.azure.resourceManagerEndpoint !== undefined && {
      resourceManagerEndpoint: config.azure.resourceManagerEndpoint,
    }),
    ...(config.azure.caFile !== undefined && { caPem: readFileSync(config.azure.caFile, 'utf8') }),
  });
  const health = new AzureHealth();
  const aci = new AciContainerGroups({
    client,
    resourceGroup: config.azure.resourceGroup,
    region: config.azure.region,
    metrics,
    gate: new ThrottleGate(clock),
    logGate: new ThrottleGate(clock),
    health,
  });
  const clusterId = await resolveClusterId(config, kubeConfig);
  const log = logger.child({ node: config.nodeName, clusterId });

  const controllerRef: { current?: PodController } = {};
  const informer = watchNodePods(kubeConfig, config.nodeName, {
    onChange: (pod) => controllerRef.current?.enqueue(pod),
    logger: log,
    signal: shutdown.signal,
  });
  const controller = new PodController({
    groups: aci,
    pods: new KubePodApi(kubeConfig, clusterCaPem(kubeConfig)),
    events: new KubeEventRecorder({ kubeConfig, nodeName: config.nodeName, clock, logger: log }),
    cache: informer,
    clock,
    logger: log,
    metrics,
    settings: {
      region: config.azure.region,
      nodeName: config.nodeName,
      clusterId,
      limits: DEFAULT_ACI_LIMITS,
    },
    hostIP: config.node.internalIP,
    pacer: new CreatePacer(config.createLimits),
    timing: {
      listIntervalMs: config.timing.listIntervalMs,
      refreshIntervalMs: config.timing.refreshIntervalMs,
      maxReadsPerMinute: config.timing.maxReadsPerMinute,
      createGraceMs: Math.max(30_000, 3 * config.timing.listIntervalMs),
      resyncIntervalMs: 60_000,
      backoff: { baseMs: 1000, maxMs: 300_000 },
      waitRetryMs: config.timing.waitRetryMs,
    },
  });
  controllerRef.current = controller;
  const node = new NodeController({
    api: new KubeNodeApi(kubeConfig),
    quota: aci,
    health,
    clock,
    logger: log,
    settings: {
      nodeName: config.nodeName,
      region: config.azure.region,
      internalIP: config.node.internalIP,
      kubeletPort: config.node.kubeletPort,
      capacity: config.node.capacity,
    },
    timing: config.timing,
  });

  const ops = express();
  ops.use(
    opsRouter(registry, {
      notReadyReasons: () => [
        ...(informer.synced ? [] : ['the pod informer has not synced']),
        ...(node.ready ? [] : ['the virtual node is not registered']),
        ...(controller.groupsSynced ? [] : ['the container groups have not been listed yet']),
      ],
    }),
  );
  const opsServer = closeSilentConnections(createServer(HTTP_LIMITS, ops));
  const kubeletServer = createKubeletApi({
    cache: informer,
    logs: new LogFollowers({
      source: aci,
      timers: {
        now: clock.now,
        sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
      },
      intervalMs: 2000,
      budget: new LogReadBudget(config.timing.logReadsPerMinute, LOG_READ_BURST),
    }),
    authorizer: new SubjectAccessReviewAuthorizer({ kubeConfig, nodeName: config.nodeName, clock }),
    logger: log,
    tls: kubeletTls(config),
    shutdown: shutdown.signal,
  });
  await listen(opsServer, config.opsPort, '0.0.0.0');
  await listen(kubeletServer, config.node.kubeletPort, '0.0.0.0');
  const queueGauge = setInterval(() => {
    metrics.queueDepth.set(controller.queueDepth);
  }, 5000);

  await node.start();
  controller.start();
  log.info({ opsPort: config.opsPort, kubeletPort: config.node.kubeletPort }, 'connector running');

  if (!shutdown.signal.aborted) {
    await new Promise<void>((resolve) => {
      shutdown.signal.addEventListener('abort', () => {
        resolve();
      });
    });
  }
  clearInterval(queueGauge);
  node.stop();
  await controller.shutdown();
  kubeletServer.close();
  opsServer.close();
  log.info('connector stopped; container groups keep running');
}

const parsed = parseConfig(process.env);
const logger = createLogger({ component: 'connector', level: parsed.ok ? parsed.config.logLevel : 'info' });
if (!parsed.ok) {
  logger.fatal({ problems: parsed.problems }, `invalid configuration:\n- ${parsed.problems.join('\n- ')}`);
  process.exitCode = 2;
} else {
  run(parsed.config, logger).catch((error: unknown) => {
    logger.fatal({ err: error }, 'connector failed');
    process.exit(1);
  });
}
