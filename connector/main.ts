// The connector's one entry point: reads the environment once, obtains the node's own credential
// (node-identity.ts) with the bootstrap one, builds the real Kubernetes and Azure clients, wires the
// node controller, the pod informer and controller, the kubelet API and the ops endpoints, and shuts
// them down in order on SIGTERM (container groups keep running). Everything the node does goes through
// the node credential; the bootstrap credential (KUBECONFIG, or the pod's ServiceAccount) only
// requests node certificates and reads namespaces.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import express from 'express';
import { DEFAULT_ACI_LIMITS, namespaceOptedIn, type NetworkSettings } from '../contract/index.ts';
import { watchNamespaces } from '../runtime/informer.ts';
import { classifyKubernetesError, isNotFound } from '../runtime/errors.ts';
import { createLogger, type Logger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { closeSilentConnections, HTTP_LIMITS } from '../runtime/http-limits.ts';
import { opsRouter } from '../runtime/ops.ts';
import { abortOnSignals } from '../runtime/shutdown.ts';
import { createCertificateAuthority, issueCertificate } from '../runtime/tls.ts';
import { AciContainerGroups, ThrottleGate } from './aci.ts';
import { createAzureClients } from './azure-client.ts';
import { parseConfig, type ConnectorConfig } from './config.ts';
import { allOf, AzureHealth } from './health.ts';
import { createKubeletApi } from './kubelet-api.ts';
import { kubeletStatsRouter } from './kubelet-stats.ts';
import { LogFollowers, LogReadBudget } from './log-followers.ts';
import {
  KubeEventRecorder,
  KubeNodeApi,
  KubePodApi,
  SubjectAccessReviewAuthorizer,
  watchNodePods,
} from './kube.ts';
import { createConnectorMetrics } from './metrics.ts';
import { AzureMonitorMetrics } from './monitor.ts';
import { NodeController } from './node.ts';
import { abortableSleep, kubeCsrApi, NodeIdentity } from './node-identity.ts';
import { CreatePacer } from './pacing.ts';
import { PodController } from './pod-controller.ts';
import { ArmVirtualNetworks, SubnetCheck } from './subnet.ts';
import { defaultUsageSettings, ResourceUsage, usageTargets, type UsageSnapshot } from './resource-usage.ts';
import { aciTerminalDialer } from './streaming/aci-terminal.ts';
import { PodSessions } from './streaming/pod-sessions.ts';
import type { Schedule } from './streaming/terminal-session.ts';
import { spdyTunnel, upgradeToSpdy } from './streaming/spdy-session.ts';
import { TtlCache } from './registry/cache.ts';
import { RegistryClient } from './registry/client.ts';
import { ImageConfigResolver, LOOKUP_DEADLINE_MS, MAX_CACHED, NODE_TIMERS } from './registry/resolver.ts';
import { httpsTransport } from './registry/transport.ts';

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

/**
 * The kube-system namespace's UID identifies the cluster unless ACI_CLUSTER_ID names it (read with
 * the `list` the namespace informer needs anyway, so no separate `get` is granted).
 */
async function resolveClusterId(config: ConnectorConfig, bootstrap: KubeConfig): Promise<string> {
  if (config.clusterId !== undefined) return config.clusterId;
  const found = await bootstrap
    .makeApiClient(CoreV1Api)
    .listNamespace({ fieldSelector: 'metadata.name=kube-system' });
  const uid = found.items[0]?.metadata?.uid;
  if (uid === undefined) throw new Error('the kube-system namespace has no UID: set ACI_CLUSTER_ID');
  return uid;
}

/**
 * The network settings of the groups. In the subnet, ClusterFirst needs the cluster DNS Service's IP:
 * KUBE_DNS_IP, else the kube-dns Service's clusterIP (read once, at start).
 */
async function networkSettings(
  config: ConnectorConfig,
  kubeConfig: KubeConfig,
  logger: Logger,
): Promise<NetworkSettings> {
  const { subnet, exposePortsPublicly, clusterDomain } = config.network;
  const settings = { subnetId: subnet?.id, exposePortsPublicly, clusterDomain };
  if (subnet === undefined || config.network.clusterDnsIP !== undefined) {
    return { ...settings, clusterDnsIP: config.network.clusterDnsIP };
  }
  try {
    const service = await kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
    const ip = service.spec?.clusterIP;
    if (ip !== undefined && ip !== '' && ip !== 'None') return { ...settings, clusterDnsIP: ip };
  } catch (error) {
    const classified = classifyKubernetesError(error);
    if (!isNotFound(classified)) logger.warn({ err: classified }, 'reading the kube-dns Service failed');
  }
  logger.warn(
    'no kube-dns Service in kube-system and no KUBE_DNS_IP: ClusterFirst pods use Azure’s resolver (set KUBE_DNS_IP, or restart once the Service exists)',
  );
  return { ...settings, clusterDnsIP: undefined };
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

/** The Azure SDK clients' settings: only what the configuration names, the SDK's defaults otherwise. */
function azureClientSettings(
  config: ConnectorConfig,
  caPem: string | undefined,
): Parameters<typeof createAzureClients>[0] {
  const { azure } = config;
  return {
    subscriptionId: azure.subscriptionId,
    ...(azure.tenantId !== undefined && { tenantId: azure.tenantId }),
    ...(azure.clientId !== undefined && { clientId: azure.clientId }),
    ...(azure.clientSecret !== undefined && { clientSecret: azure.clientSecret }),
    ...(azure.authorityHost !== undefined && { authorityHost: azure.authorityHost }),
    ...(azure.resourceManagerEndpoint !== undefined && {
      resourceManagerEndpoint: azure.resourceManagerEndpoint,
    }),
    ...(caPem !== undefined && { caPem }),
  };
}

const schedule: Schedule = (ms, fire) => {
  const timer = setTimeout(fire, ms);
  return () => {
    clearTimeout(timer);
  };
};

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
  // Served from the start: a liveness probe must not restart the process while its node certificate
  // waits for approval (up to 5 minutes when a person approves it).
  const readiness = { reasons: (): string[] => ['the node certificate has not been issued yet'] };
  const ops = express();
  ops.use(opsRouter(registry, { notReadyReasons: () => readiness.reasons() }));
  const opsServer = closeSilentConnections(createServer(HTTP_LIMITS, ops));
  await listen(opsServer, config.opsPort, '0.0.0.0');
  const bootstrap = new KubeConfig();
  bootstrap.loadFromDefault();
  const cluster = bootstrap.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig names no cluster');
  const identity = new NodeIdentity({
    api: kubeCsrApi(bootstrap),
    nodeName: config.nodeName,
    cluster,
    clock,
    sleep: abortableSleep,
    random: Math.random,
    timeoutMs: 300_000,
    pollMs: 1000,
    logger,
  });
  try {
    await identity.start(shutdown.signal);
  } catch (error) {
    opsServer.close();
    if (shutdown.signal.aborted) return;
    throw error;
  }
  const renewing = identity.keepRenewed(shutdown.signal);
  // Every client below acts as system:node:<NODE_NAME>, except the namespace reads.
  const kubeConfig = identity.kubeConfig;
  const azureCaPem = readOptional(config.azure.caFile);
  const { client, createClient, monitor, endpoint } = createAzureClients(
    azureClientSettings(config, azureCaPem),
  );
  const health = new AzureHealth();
  // One gate: a 429 from Resource Manager holds back container-group and Monitor calls alike.
  const gate = new ThrottleGate(clock);
  const aci = new AciContainerGroups({
    client,
    createClient,
    resourceGroup: config.azure.resourceGroup,
    region: config.azure.region,
    metrics,
    gate,
    logGate: new ThrottleGate(clock),
    health,
  });
  const clusterId = await resolveClusterId(config, bootstrap);
  const log = logger.child({ node: config.nodeName, clusterId });
  const namespaces = watchNamespaces(bootstrap, log, shutdown.signal);
  const network = await networkSettings(config, kubeConfig, log);
  const subnet =
    config.network.subnet === undefined
      ? undefined
      : new SubnetCheck({
          api: new ArmVirtualNetworks({ client, endpoint }),
          subnet: config.network.subnet,
          region: config.azure.region,
          clock,
          logger: log,
          recheckMs: config.timing.quotaIntervalMs,
        });
  await subnet?.refresh();

  const images = new ImageConfigResolver({
    client: new RegistryClient({
      transport: httpsTransport({ caPem: readOptional(config.registry.caFile) }),
      // Configurations by digest never change: kept until evicted.
      configs: new TtlCache({ maxEntries: MAX_CACHED, ttlMs: Infinity, clock }),
    }),
    mirrors: config.registry.mirrors,
    clock,
    cacheTtlMs: config.registry.cacheTtlMs,
    waitMs: config.registry.waitMs,
    lookupDeadlineMs: LOOKUP_DEADLINE_MS,
    timers: NODE_TIMERS,
  });

  const controllerRef: { current?: PodController } = {};
  const sessions = new PodSessions(shutdown.signal);
  const informer = watchNodePods(kubeConfig, config.nodeName, {
    onChange: (pod) => {
      controllerRef.current?.enqueue(pod);
      const { namespace = '', name = '' } = pod.metadata ?? {};
      if (pod.metadata?.deletionTimestamp !== undefined || informer.get(namespace, name) === undefined) {
        sessions.podGone(namespace, name);
      }
    },
    logger: log,
    signal: shutdown.signal,
  });
  const controller = new PodController({
    groups: aci,
    pods: new KubePodApi(kubeConfig, clusterCaPem(kubeConfig)),
    images,
    events: new KubeEventRecorder({ kubeConfig, nodeName: config.nodeName, clock, logger: log }),
    cache: informer,
    namespaces: {
      get synced() {
        return namespaces.synced();
      },
      optedIn: (name) =>
        namespaceOptedIn(name, namespaces.get(name)?.metadata?.labels, config.allowedNamespaces),
    },
    clock,
    logger: log,
    metrics,
    settings: {
      region: config.azure.region,
      nodeName: config.nodeName,
      clusterId,
      limits: DEFAULT_ACI_LIMITS,
      workingDirShell: config.workingDirShell,
      network,
    },
    hostIP: config.node.internalIP,
    pacer: new CreatePacer(config.createLimits),
    subnet,
    timing: {
      listIntervalMs: config.timing.listIntervalMs,
      refreshIntervalMs: config.timing.refreshIntervalMs,
      maxReadsPerMinute: config.timing.maxReadsPerMinute,
      createGraceMs: Math.max(30_000, 3 * config.timing.listIntervalMs),
      resyncIntervalMs: 60_000,
      backoff: { baseMs: 1000, maxMs: 300_000 },
      waitRetryMs: config.timing.waitRetryMs,
      provisioningTimeoutMs: config.timing.provisioningTimeoutMs,
    },
  });
  controllerRef.current = controller;
  const usage =
    config.metrics.refreshIntervalMs > 0
      ? new ResourceUsage({
          api: new AzureMonitorMetrics({
            monitor,
            subscriptionId: config.azure.subscriptionId,
            resourceGroup: config.azure.resourceGroup,
            context: { gate, metrics },
          }),
          targets: () => usageTargets(informer.list(), (pod) => controller.ownedGroupFor(pod)),
          clock,
          logger: log,
          settings: defaultUsageSettings(config.metrics.refreshIntervalMs, config.metrics.maxReadsPerMinute),
        })
      : undefined;
  const node = new NodeController({
    api: new KubeNodeApi(kubeConfig),
    quota: aci,
    health: subnet === undefined ? health : allOf([health, subnet]),
    clock,
    logger: log,
    settings: {
      nodeName: config.nodeName,
      region: config.azure.region,
      internalIP: config.node.internalIP,
      kubeletPort: config.node.kubeletPort,
      capacity: config.node.capacity,
      declareWebSockets: config.kubelet.declareWebSockets,
    },
    timing: config.timing,
  });

  readiness.reasons = () => [
    ...(informer.synced ? [] : ['the pod informer has not synced']),
    ...(namespaces.synced() ? [] : ['the namespace informer has not synced']),
    ...(node.ready ? [] : ['the virtual node is not registered']),
    ...(controller.groupsSynced ? [] : ['the container groups have not been listed yet']),
  ];
  const authorizer = new SubjectAccessReviewAuthorizer({ kubeConfig, nodeName: config.nodeName, clock });
  const kubeletServer = createKubeletApi({
    cache: informer,
    ownedGroupFor: (pod) => controller.ownedGroupFor(pod),
    logs: new LogFollowers({
      source: aci,
      timers: {
        now: clock.now,
        sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
      },
      intervalMs: 2000,
      budget: new LogReadBudget(config.timing.logReadsPerMinute, LOG_READ_BURST),
    }),
    authorizer,
    logger: log,
    tls: kubeletTls(config),
    shutdown: shutdown.signal,
    streaming: {
      sessions,
      terminal: {
        terminals: aci,
        dial: aciTerminalDialer({ caPem: azureCaPem, handshakeTimeoutMs: 15_000 }),
        schedule,
        nonce: () => randomBytes(8).toString('hex'),
        firstResizeWaitMs: 1000,
        idleTimeoutMs: config.kubelet.streamingIdleTimeoutMs,
      },
      forward: {
        connect: (host, port) => connect({ host, port }),
        schedule,
        streamCreationTimeoutMs: 30_000,
      },
      upgradeToSpdy,
      spdyTunnel,
    },
    statsRoutes: kubeletStatsRouter({
      usage: usage ?? { snapshot: (): UsageSnapshot => ({ pods: [], node: undefined }) },
      cache: informer,
      nodeName: config.nodeName,
      startedAt: clock.now(),
    }),
  });
  await listen(kubeletServer, config.node.kubeletPort, '0.0.0.0');
  const queueGauge = setInterval(() => {
    metrics.queueDepth.set(controller.queueDepth);
  }, 5000);
  // Read again each quota interval while usable, each status interval while not (SubnetCheck decides).
  const subnetTimer = setInterval(() => {
    void subnet?.refresh();
  }, config.timing.nodeStatusIntervalMs);

  await node.start();
  controller.start();
  usage?.start();
  log.info({ opsPort: config.opsPort, kubeletPort: config.node.kubeletPort }, 'connector running');

  if (!shutdown.signal.aborted) {
    await new Promise<void>((resolve) => {
      shutdown.signal.addEventListener('abort', () => {
        resolve();
      });
    });
  }
  clearInterval(queueGauge);
  clearInterval(subnetTimer);
  node.stop();
  await usage?.stop();
  await controller.shutdown();
  await renewing;
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
