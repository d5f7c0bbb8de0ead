// startEmulator: one HTTPS server (self-signed CA, node-forge) serving ARM's Microsoft.ContainerInstance
// paths, a minimal Entra ID, the exec and attach websockets, the control API and /healthz /readyz
// /metrics; and, in `loopback` address mode, the groups' own addresses with listeners on their ports.
// Tests start it in-process on port 0; main.ts runs it standalone.
import { randomInt, randomUUID } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { type AciLimits, DEFAULT_ACI_LIMITS } from '../../contract/index.ts';
import { silentLogger, type Logger } from '../../runtime/logger.ts';
import { Counter, createRegistry } from '../../runtime/metrics.ts';
import { opsRouter } from '../../runtime/ops.ts';
import { createCertificateAuthority, issueCertificate } from '../../runtime/tls.ts';
import { armRouter } from './arm-routes.ts';
import {
  CONTROL_PREFIX,
  controlRouter,
  createControlClient,
  type EmulatorControl,
  type VirtualNetworkInput,
} from './control.ts';
import { entraRouter, TokenIssuer } from './entra-routes.ts';
import { Federation } from './federation.ts';
import { identityLogin } from './identities.ts';
import { attachSessionSockets, DEFAULT_SESSION_LIMITS, type SessionLimits } from './exec-socket.ts';
import { GroupActivity } from './group-activity.ts';
import { GroupNetwork, type AddressMode } from './group-network.ts';
import { TIMELINES, type Timeline } from './lifecycle.ts';
import { DEFAULT_QUOTAS, DEFAULT_RATE_LIMITS, type Quotas, type RateLimits } from './limits.ts';
import { MONITOR_TIMINGS, UsageScript, type MonitorTiming } from './monitor.ts';
import { type RegistryAuth, type RunningRegistry, startRegistry } from './registry.ts';
import { RequestLog } from './request-log.ts';
import type { StorageAccountFixture } from './storage.ts';
import { EmulatorState, type EmulatorConfig } from './state.ts';
import { parseVirtualNetwork } from './virtual-networks.ts';

export interface EmulatorOptions {
  /** `fast` (default: Succeeded ~150 ms after a PUT), `realistic` (~30 s), or your own. */
  timeline?: keyof typeof TIMELINES | Timeline;
  /** Azure Monitor's grain and publishing delay; by default the timeline's name picks them (your own timeline: realistic). */
  monitor?: MonitorTiming;
  quotas?: Partial<Quotas>;
  rateLimits?: Partial<RateLimits>;
  limits?: Partial<AciLimits>;
  /** Entries the request log keeps (default 10 000): a long chaos run reads the whole of it. */
  requestLogCapacity?: number;
  /** Seeds the fault injector so a run repeats. */
  seed?: number;
  /** Groups per list page (Azure's is larger; small values exercise nextLink). */
  pageSize?: number;
  subscriptionId?: string;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Created at start; more come from the control API or an ARM resource-group PUT. */
  resourceGroup?: string;
  region?: string;
  /** Further regions the subscription may use. */
  extraRegions?: string[];
  tokenLifetimeSeconds?: number;
  /**
   * `loopback` (default): each group with an IP gets its own 127.x.y.z, with real listeners on its ports
   * while its containers run; `documentation`: fake addresses that route nowhere, no listeners.
   */
  addresses?: AddressMode;
  /**
   * Virtual networks with subnets (prefix, delegations) that groups may join; more via the control API.
   * In `loopback` address mode a prefix in 127.1.0.0-127.255.255.255 is served like other group
   * addresses; any other (a private range, for EndpointSlices) is handed out and never dialled.
   */
  virtualNetworks?: VirtualNetworkInput[];
  /** Storage accounts (name, key, shares) that azureFile volumes are checked against; unset, none are. */
  storageAccounts?: StorageAccountFixture[];
  /** Bounds of exec and attach sessions (count, idle time, output). */
  sessionLimits?: Partial<SessionLimits>;
  /** How the loopback registry authenticates: Docker Hub's bearer tokens (default) or Basic. */
  registryAuth?: RegistryAuth;
  host?: string;
  port?: number;
  logger?: Logger;
  clock?: () => number;
}

/** How often the activity of groups is brought up to date between requests. */
const ACTIVITY_TICK_MS = 50;

export interface RunningEmulator {
  /** ARM base URL, e.g. https://127.0.0.1:41234 (pass as the SDK's `endpoint`). */
  endpoint: string;
  /** The CA that signed the emulator's certificate. */
  caPem: string;
  /** Entra ID base URL (AZURE_AUTHORITY_HOST). */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  subscriptionId: string;
  resourceGroup: string;
  region: string;
  control: EmulatorControl;
  /** The loopback OCI registry started with it (test/emulator/registry.ts), same CA. */
  registry: RunningRegistry;
  close(): Promise<void>;
}

function resolveTimeline(timeline: EmulatorOptions['timeline']): Timeline {
  if (timeline === undefined) return TIMELINES.fast;
  return typeof timeline === 'string' ? TIMELINES[timeline] : timeline;
}

function resolveConfig(options: EmulatorOptions): {
  identity: { subscriptionId: string; tenantId: string; clientId: string; clientSecret: string };
  resourceGroup: string;
  region: string;
  config: EmulatorConfig;
} {
  const identity = {
    subscriptionId: options.subscriptionId ?? randomUUID(),
    tenantId: options.tenantId ?? randomUUID(),
    clientId: options.clientId ?? randomUUID(),
    clientSecret: options.clientSecret ?? `secret-${randomUUID()}`,
  };
  const resourceGroup = options.resourceGroup ?? 'aci-burst';
  const region = options.region ?? 'westus';
  const config: EmulatorConfig = {
    subscriptionId: identity.subscriptionId,
    regions: [region, ...(options.extraRegions ?? [])],
    resourceGroups: [resourceGroup],
    timeline: resolveTimeline(options.timeline),
    limits: { ...DEFAULT_ACI_LIMITS, ...options.limits },
    quotas: { ...DEFAULT_QUOTAS, ...options.quotas },
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...options.rateLimits },
    seed: options.seed ?? 1,
    ...(options.storageAccounts !== undefined && { storageAccounts: options.storageAccounts }),
  };
  config.virtualNetworks = (options.virtualNetworks ?? []).map((network) =>
    parseVirtualNetwork(network, { resourceGroup, location: region }),
  );
  config.resourceGroups = [
    ...new Set([...config.resourceGroups, ...config.virtualNetworks.map((n) => n.resourceGroup)]),
  ];
  return { identity, resourceGroup, region, config };
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? silentLogger();
  const host = options.host ?? '127.0.0.1';
  const { identity, resourceGroup, region, config } = resolveConfig(options);
  const ca = createCertificateAuthority({ commonName: 'aci-burst emulator CA', now: new Date() });
  const serving = issueCertificate(
    ca,
    { commonName: 'aci-emulator', hosts: [...new Set([host, '127.0.0.1', 'localhost'])], now: new Date() },
    'server',
  );
  const ociRegistry = await startRegistry({
    tls: serving,
    host,
    clock,
    ...(options.registryAuth !== undefined && { auth: options.registryAuth }),
  });
  const state: EmulatorState = new EmulatorState({
    ...config,
    principal: { clientId: identity.clientId, tenantId: identity.tenantId },
    // Identity-based credentials pull as the identity may (its AcrPull fixtures).
    canPull: (image, logins) =>
      ociRegistry.canPull(
        image,
        logins.map((login) => identityLogin(login, (id) => state.managedIdentity(id), ociRegistry)),
      ),
  });
  const federation = new Federation();
  const requestLog = new RequestLog(options.requestLogCapacity);
  const usage = new UsageScript();
  const monitorTiming =
    options.monitor ??
    (options.timeline === undefined || options.timeline === 'fast'
      ? MONITOR_TIMINGS.fast
      : MONITOR_TIMINGS.realistic);
  const tokens = new TokenIssuer(options.tokenLifetimeSeconds ?? 3600);
  const registry = createRegistry({ component: 'aci-emulator', processMetrics: false });
  const armRequests = new Counter({
    name: 'aci_emulator_arm_requests_total',
    help: 'ARM requests answered, by method and status (0: connection dropped by a fault).',
    labelNames: ['method', 'status'],
    registers: [registry],
  });
  let endpoint = '';
  const network = new GroupNetwork({
    mode: options.addresses ?? 'loopback',
    random: () => randomInt(2 ** 30) / 2 ** 30,
    logger,
    requestLog,
    clock,
  });
  const activity = new GroupActivity({ state, network, clock, logger });

  const app = express();
  app.disable('x-powered-by');
  app.use(opsRouter(registry, { notReadyReasons: () => (endpoint === '' ? ['not listening yet'] : []) }));
  app.use(
    CONTROL_PREFIX,
    controlRouter({ state, requestLog, clock, settle: () => activity.settle(), usage, federation }),
  );
  app.use(
    entraRouter({
      ...identity,
      authorityHost: () => endpoint,
      tokens,
      clock,
      federation,
      requestLog,
      faultsFor: (request) => state.faultsFor(request),
    }),
  );
  app.use(
    '/subscriptions/:subscriptionId',
    armRouter({
      state,
      tokens,
      requestLog,
      endpoint: () => endpoint,
      tenantId: identity.tenantId,
      clock,
      pageSize: options.pageSize ?? 100,
      logger,
      onRequest: ({ method, status }) => {
        armRequests.inc({ method, status: String(status) });
      },
      settle: () => activity.settle(),
      claimAddress: (groupId, type, subnet) => network.claim(groupId, type, subnet),
      monitor: { script: usage, timing: monitorTiming },
    }),
  );

  const server = createServer({ key: serving.keyPem, cert: serving.certPem }, app);
  const sockets = attachSessionSockets(server, {
    state,
    requestLog,
    activity,
    clock,
    logger,
    limits: { ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  endpoint = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ endpoint }, 'ACI emulator listening');
  // Time moves between requests too: attach output, runs ending, listeners opening and closing.
  const tick = setInterval(() => {
    void activity.settle();
  }, ACTIVITY_TICK_MS);
  tick.unref();

  return {
    endpoint,
    caPem: ca.certPem,
    authorityHost: endpoint,
    ...identity,
    resourceGroup,
    region,
    control: createControlClient(endpoint, ca.certPem),
    registry: ociRegistry,
    close: async () => {
      clearInterval(tick);
      await activity.close();
      await ociRegistry.close();
      for (const client of sockets.clients) {
        client.terminate();
      }
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    },
  };
}
