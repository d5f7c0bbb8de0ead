// The connector as one process (main.ts runs it through runtime/process.ts): obtains the node's own
// credential (node-identity.ts) with the bootstrap one, builds the real Kubernetes and Azure clients,
// and starts its parts with the process's one signal: the ops port, the watches, the subnet check,
// the kubelet API, the node controller, the pod controller and the usage reads. Each part stops on
// that signal (container groups keep running); the process waits for every part's `done`.
// Everything the node does goes through the node credential; the bootstrap credential (KUBECONFIG,
// or the pod's ServiceAccount) only requests node certificates and reads namespaces.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import express from 'express';
import { DEFAULT_ACI_LIMITS, namespaceOptedIn, type NetworkSettings } from '../contract/index.ts';
import { sleepUnlessAborted, type Timers } from '../runtime/clock.ts';
import { closeSilentConnections, HTTP_LIMITS } from '../runtime/http-limits.ts';
import { ListeningServer } from '../runtime/https-service.ts';
import { watchNamespaces, type WatchedCache } from '../runtime/informer.ts';
import { aborted, type Lifecycle } from '../runtime/lifecycle.ts';
import type { Logger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { opsRouter } from '../runtime/ops.ts';
import type { ProcessContext } from '../runtime/process.ts';
import type { V1Namespace } from '@kubernetes/client-node';
import { AciContainerGroups, throttleArmCalls } from './aci.ts';
import { createAzureClients } from './azure-client.ts';
import type { ConnectorConfig } from './config.ts';
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
import { createConnectorMetrics, type ConnectorMetrics } from './metrics.ts';
import { AzureMonitorMetrics } from './monitor.ts';
import { NodeController } from './node.ts';
import { kubeCsrApi, NodeIdentity } from './node-identity.ts';
import { CREATE_WINDOW_MARGIN_MS, CreatePacer } from './pacing.ts';
import { type ArmReadBudget, watchReadBudget } from './read-budget.ts';
import { PodController, podControllerTiming } from './pod-controller.ts';
import { startLeadership } from './leadership.ts';
import type { WatchedPods } from './ports.ts';
import { ArmVirtualNetworks, SubnetCheck } from './subnet.ts';
import { defaultUsageSettings, ResourceUsage, usageTargets, type UsageSnapshot } from './resource-usage.ts';
import { aciTerminalDialer } from './streaming/aci-terminal.ts';
import type { TerminalSessionDeps } from './streaming/terminal-session.ts';
import { podLifecycleHooks } from './hooks.ts';
import { PodSessions } from './streaming/pod-sessions.ts';
import { spdyTunnel, upgradeToSpdy } from './streaming/spdy-session.ts';
import { TtlCache } from './registry/cache.ts';
import { RegistryClient } from './registry/client.ts';
import { ImageConfigResolver, LOOKUP_DEADLINE_MS, MAX_CACHED, NODE_TIMERS } from './registry/resolver.ts';
import { httpsTransport } from './registry/transport.ts';
import {
  azureClientSettings,
  clusterCaPem,
  kubeletTls,
  networkSettings,
  readOptional,
  resolveClusterId,
} from './startup.ts';

/** Log reads allowed at once before the per-minute budget spaces them: a few `kubectl logs` together. */
const LOG_READ_BURST = 10;
/** How long the kubelet API's and the ops port's requests in flight may finish after the stop signal. */
const SERVER_GRACE_MS = 5000;

export async function runConnector(config: ConnectorConfig, context: ProcessContext): Promise<void> {
  const { logger, signal, timers } = context;
  const registry = createRegistry({ component: 'connector' });
  const metrics = createConnectorMetrics(registry);
  // Served from the start: a liveness probe must not restart the process while its node certificate
  // waits for approval (up to 5 minutes when a person approves it). The reasons follow the start-up.
  let notReadyReasons = (): string[] => ['the node certificate has not been issued yet'];
  // A standby is ready once its caches are warm: registering the node and listing groups is the leader's.
  let leading = (): boolean => false;
  const ops = express();
  ops.use(opsRouter(registry, { notReadyReasons: () => notReadyReasons() }));
  const opsServer = new ListeningServer(closeSilentConnections(createServer(HTTP_LIMITS, ops)), {
    port: config.opsPort,
    host: '0.0.0.0',
    graceMs: SERVER_GRACE_MS,
    logger,
    timers,
  });
  await opsServer.start(signal);

  const bootstrap = new KubeConfig();
  bootstrap.loadFromDefault();
  const identity = nodeIdentity(config, bootstrap, logger, timers);
  try {
    await identity.start(signal);
  } catch (error) {
    if (!signal.aborted) throw error;
    await opsServer.done;
    return;
  }
  // Every client below acts as system:node:<NODE_NAME>, except the namespace reads.
  const kubeConfig = identity.kubeConfig;
  const azure = azureParts(config, metrics, timers);
  const clusterId = await resolveClusterId(config, bootstrap);
  const log = logger.child({ node: config.nodeName, clusterId });
  const namespaces = watchNamespaces(bootstrap, { logger: log, signal, timers });
  const network = await networkSettings(config, kubeConfig, log);
  const subnet =
    config.network.subnet === undefined
      ? undefined
      : new SubnetCheck({
          api: new ArmVirtualNetworks({ client: azure.client, endpoint: azure.endpoint }),
          subnet: config.network.subnet,
          region: config.azure.region,
          timers,
          logger: log,
          recheckMs: config.timing.quotaIntervalMs,
          // Read again each quota interval while usable, each status interval while not.
          refreshMs: config.timing.nodeStatusIntervalMs,
        });
  await subnet?.start(signal);

  const pods = watchNodePods(kubeConfig, config.nodeName, { logger: log, signal, timers });
  const terminal = aciTerminal(config, azure, timers);
  const controller = podController({
    config,
    terminal,
    clusterId,
    network,
    kubeConfig,
    azure,
    namespaces,
    pods,
    subnet,
    log,
    metrics,
    timers,
  });
  const usage =
    config.metrics.refreshIntervalMs > 0
      ? new ResourceUsage({
          api: new AzureMonitorMetrics({
            monitor: azure.monitor,
            subscriptionId: config.azure.subscriptionId,
            resourceGroup: config.azure.resourceGroup,
            context: { metrics },
          }),
          targets: () => usageTargets(pods.list(), (pod) => controller.ownedGroupFor(pod)),
          clock: timers,
          logger: log,
          settings: defaultUsageSettings(config.metrics.refreshIntervalMs, config.metrics.maxReadsPerMinute),
        })
      : undefined;
  const node = new NodeController({
    api: new KubeNodeApi(kubeConfig),
    quota: azure.aci,
    health: subnet === undefined ? azure.health : allOf([azure.health, subnet]),
    clock: timers,
    logger: log,
    settings: {
      nodeName: config.nodeName,
      region: config.azure.region,
      internalIP: config.node.internalIP,
      kubeletPort: config.node.kubeletPort,
      capacity: config.node.capacity,
      labels: config.node.labels,
      taints: config.node.taints,
      declareWebSockets: config.kubelet.declareWebSockets,
    },
    timing: config.timing,
  });
  notReadyReasons = () => [
    ...(pods.synced ? [] : ['the pod informer has not synced']),
    ...(namespaces.synced() ? [] : ['the namespace informer has not synced']),
    ...(!leading() || node.ready ? [] : ['the virtual node is not registered']),
    ...(!leading() || controller.groupsSynced ? [] : ['the container groups have not been listed yet']),
  ];
  const sessions = new PodSessions(signal);
  const endSessionsOfGonePods = sessions.followPods(pods);
  signal.addEventListener('abort', endSessionsOfGonePods, { once: true });
  const kubelet = new ListeningServer(
    kubeletServer({
      config,
      kubeConfig,
      pods,
      controller,
      azure,
      terminal,
      sessions,
      usage,
      log,
      signal,
      timers,
    }),
    { port: config.node.kubeletPort, host: '0.0.0.0', graceMs: SERVER_GRACE_MS, logger: log, timers },
  );
  await kubelet.start(signal);
  const stopQueueGauge = timers.every(5000, () => {
    metrics.queueDepth.set(controller.queueDepth);
  });
  signal.addEventListener('abort', stopQueueGauge, { once: true });

  // In this order: the node registered, then pods reconciled, then their usage read. Every replica
  // watches and serves the kubelet API on its own address; only the leader starts these writers, and
  // the node it registers names the leader's address, so the API server dials the leader
  // (docs/high-availability.md).
  const parts: Lifecycle[] = [node, controller, ...(usage ? [usage] : [])];
  const leadership = startLeadership({
    election: config.leaderElection,
    leaseName: config.nodeName,
    kubeConfig: bootstrap,
    timers,
    logger: log,
    suffix: randomBytes(4).toString('hex'),
    lead: () => {
      startInOrder(parts, signal)
        .then(() => {
          log.info({ opsPort: config.opsPort, kubeletPort: config.node.kubeletPort }, 'connector running');
        })
        .catch((error: unknown) => {
          log.fatal({ err: error }, 'registering the virtual node failed');
          process.exit(1);
        });
    },
    // Exit at once: another replica may lead a moment later, and Kubernetes restarts this one as a standby.
    lost: () => process.exit(1),
  });
  leading = () => leadership.leading;

  await aborted(signal);
  const started: Lifecycle[] = [...parts, ...(subnet ? [subnet] : []), kubelet, opsServer];
  await Promise.all(started.map((part) => part.done));
  await leadership.stop();
  await identity.done;
  log.info('connector stopped; container groups keep running');
}

/** Starts the writers one after the other: each may rely on the one before (the node registered first). */
async function startInOrder(parts: readonly Lifecycle[], signal: AbortSignal): Promise<void> {
  for (const part of parts) await part.start(signal);
}

function nodeIdentity(
  config: ConnectorConfig,
  bootstrap: KubeConfig,
  logger: Logger,
  timers: Timers,
): NodeIdentity {
  const cluster = bootstrap.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig names no cluster');
  return new NodeIdentity({
    api: kubeCsrApi(bootstrap),
    nodeName: config.nodeName,
    cluster,
    clock: timers,
    sleep: (ms, stop) => sleepUnlessAborted(timers, ms, stop),
    random: Math.random,
    timeoutMs: 300_000,
    pollMs: 1000,
    logger,
  });
}

interface AzureParts {
  client: ReturnType<typeof createAzureClients>['client'];
  monitor: ReturnType<typeof createAzureClients>['monitor'];
  endpoint: string;
  caPem: string | undefined;
  aci: AciContainerGroups;
  health: AzureHealth;
  /** What ARM reports left of its read bucket, seen on every answer to either client. */
  readBudget: ArmReadBudget;
}

function azureParts(config: ConnectorConfig, metrics: ConnectorMetrics, timers: Timers): AzureParts {
  const caPem = readOptional(config.azure.caFile);
  const { client, createClient, monitor, endpoint } = createAzureClients(azureClientSettings(config, caPem));
  const health = new AzureHealth();
  const readBudget = watchReadBudget([client, monitor], timers, config.timing.readBudgetShare);
  // One set of gates: a 429 from Resource Manager holds back container-group and Monitor calls alike.
  throttleArmCalls([client, createClient, monitor], timers);
  const aci = new AciContainerGroups({
    client,
    createClient,
    resourceGroup: config.azure.resourceGroup,
    region: config.azure.region,
    metrics,
    health,
  });
  return { client, monitor, endpoint, caPem, aci, health, readBudget };
}

function podController(parts: {
  config: ConnectorConfig;
  clusterId: string;
  network: NetworkSettings;
  kubeConfig: KubeConfig;
  azure: AzureParts;
  namespaces: WatchedCache<V1Namespace>;
  pods: WatchedPods;
  subnet: SubnetCheck | undefined;
  log: Logger;
  metrics: ConnectorMetrics;
  terminal: TerminalSessionDeps;
  timers: Timers;
}): PodController {
  const {
    config,
    clusterId,
    network,
    kubeConfig,
    azure,
    namespaces,
    pods,
    subnet,
    log,
    metrics,
    terminal,
    timers,
  } = parts;
  const events = new KubeEventRecorder({ kubeConfig, nodeName: config.nodeName, clock: timers, logger: log });
  const images = new ImageConfigResolver({
    client: new RegistryClient({
      transport: httpsTransport({ caPem: readOptional(config.registry.caFile) }),
      // Configurations by digest never change: kept until evicted.
      configs: new TtlCache({ maxEntries: MAX_CACHED, ttlMs: Infinity, clock: timers }),
    }),
    mirrors: config.registry.mirrors,
    clock: timers,
    cacheTtlMs: config.registry.cacheTtlMs,
    waitMs: config.registry.waitMs,
    lookupDeadlineMs: LOOKUP_DEADLINE_MS,
    timers: NODE_TIMERS,
  });
  return new PodController({
    groups: azure.aci,
    pods: new KubePodApi(kubeConfig, clusterCaPem(kubeConfig)),
    images,
    events,
    hooks: podLifecycleHooks({ terminal, events, groups: azure.aci, logger: log }),
    cache: pods,
    namespaces: {
      get synced() {
        return namespaces.synced();
      },
      optedIn: (name) =>
        namespaceOptedIn(name, namespaces.get(name)?.metadata?.labels, config.allowedNamespaces),
    },
    clock: timers,
    logger: log,
    metrics,
    settings: {
      region: config.azure.region,
      nodeName: config.nodeName,
      clusterId,
      limits: DEFAULT_ACI_LIMITS,
      workingDirShell: config.workingDirShell,
      identity: config.identity,
      network,
    },
    hostIP: config.node.internalIP,
    pacer: new CreatePacer(config.createLimits, { marginMs: CREATE_WINDOW_MARGIN_MS }),
    readBudget: azure.readBudget,
    subnet,
    random: Math.random,
    timing: podControllerTiming(config.timing),
  });
}

/** ACI's exec, for kubectl exec, attach and lifecycle hooks (hooks.ts). */
function aciTerminal(config: ConnectorConfig, azure: AzureParts, timers: Timers): TerminalSessionDeps {
  return {
    terminals: azure.aci,
    dial: aciTerminalDialer({ caPem: azure.caPem, handshakeTimeoutMs: 15_000 }),
    schedule: (ms, fire) => timers.after(ms, fire),
    nonce: () => randomBytes(8).toString('hex'),
    firstResizeWaitMs: 1000,
    idleTimeoutMs: config.kubelet.streamingIdleTimeoutMs,
  };
}

function kubeletServer(parts: {
  config: ConnectorConfig;
  kubeConfig: KubeConfig;
  pods: WatchedPods;
  controller: PodController;
  azure: AzureParts;
  terminal: TerminalSessionDeps;
  sessions: PodSessions;
  usage: ResourceUsage | undefined;
  log: Logger;
  signal: AbortSignal;
  timers: Timers;
}): ReturnType<typeof createKubeletApi> {
  const { config, kubeConfig, pods, controller, azure, terminal, sessions, usage, log, signal, timers } =
    parts;
  const schedule = (ms: number, fire: () => void): (() => void) => timers.after(ms, fire);
  return createKubeletApi({
    cache: pods,
    ownedGroupFor: (pod) => controller.ownedGroupFor(pod),
    logs: new LogFollowers({
      source: azure.aci,
      // A follower stopped while it waits simply ends its loop.
      timers: { now: () => timers.now(), sleep: (ms, stop) => sleepUnlessAborted(timers, ms, stop) },
      intervalMs: 2000,
      budget: new LogReadBudget(config.timing.logReadsPerMinute, LOG_READ_BURST),
    }),
    authorizer: new SubjectAccessReviewAuthorizer({ kubeConfig, nodeName: config.nodeName, clock: timers }),
    logger: log,
    clock: timers,
    tls: kubeletTls(config, new Date(timers.now())),
    shutdown: signal,
    streaming: {
      sessions,
      terminal,
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
      cache: pods,
      nodeName: config.nodeName,
      startedAt: timers.now(),
    }),
  });
}
