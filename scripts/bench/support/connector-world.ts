// What the connector benchmarks share: the pod controller with the connector's default settings
// (readConfig of an empty environment), the real Azure SDK over HTTPS, and the in-process ACI emulator
// on the realistic timeline (~30 s from PUT to a running container), all on one virtual clock
// (VirtualTimers): the emulator's provisioning, ARM's token buckets and ACI's create windows run on
// it, as do the connector's list loop, delayed retries and budgets, so hours of ACI time pass in
// seconds and the figures do not depend on this machine's speed.
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import {
  DEFAULT_ACI_LIMITS,
  DEFAULT_NETWORK_SETTINGS,
  type ReferencedObjects,
} from '../../../contract/index.ts';
import { AciContainerGroups, throttleArmCalls } from '../../../connector/aci.ts';
import { createAzureClients } from '../../../connector/azure-client.ts';
import { readConfig, type ConnectorConfig } from '../../../connector/config.ts';
import { AzureHealth } from '../../../connector/health.ts';
import { createConnectorMetrics } from '../../../connector/metrics.ts';
import { CREATE_WINDOW_MARGIN_MS, CreatePacer } from '../../../connector/pacing.ts';
import { PodController, podControllerTiming } from '../../../connector/pod-controller.ts';
import { ArmReadBudget, watchReadBudget } from '../../../connector/read-budget.ts';
import type { ConnectorMetrics } from '../../../connector/metrics.ts';
import type { ContainerGroupApi } from '../../../connector/ports.ts';
import { FakeClock } from '../../../runtime/clock.ts';
import { silentLogger } from '../../../runtime/logger.ts';
import { createRegistry } from '../../../runtime/metrics.ts';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../../test/emulator/server.ts';
import { clientSettingsFor } from '../../../test/emulator/testing.ts';

/**
 * Virtual time for the whole world: it stands still while anything is being done (an ARM request in
 * flight, a reconcile running) and jumps to the next timer when all is quiet. Latencies measured on it
 * are the connector's own decisions (list intervals, budgets, create turns), free of this machine's
 * CPU; ARM calls take no virtual time.
 */
export class VirtualTimers extends FakeClock {
  /** ARM requests in flight (counted by ArmTally's policy). */
  inFlight = 0;

  /** Runs the world until `condition` holds (checked whenever all is quiet) or `forMs` pass. */
  async run(condition: () => boolean, forMs: number): Promise<boolean> {
    const deadline = this.now() + forMs;
    for (;;) {
      await this.quiet();
      if (condition()) return true;
      if (!this.fireNext(deadline)) {
        await this.advance(deadline - this.now());
        return condition();
      }
    }
  }

  /** Two wall-clock turns in a row with no ARM request in flight. */
  private async quiet(): Promise<void> {
    for (let calm = 0; calm < 2;) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      calm = this.inFlight === 0 ? calm + 1 : 0;
    }
  }
}

/** Every ARM call the connector sent, by kind, with the compressed time of each status read. */
export class ArmTally {
  lists = 0;
  gets = 0;
  otherReads = 0;
  writes = 0;
  throttled = { reads: 0, writes: 0 };
  /** Per group name: when its instance view was read. */
  readonly readTimes = new Map<string, number[]>();
  private readonly clock: VirtualTimers;

  constructor(clock: VirtualTimers) {
    this.clock = clock;
  }

  get reads(): number {
    return this.lists + this.gets + this.otherReads;
  }

  reset(): void {
    this.lists = 0;
    this.gets = 0;
    this.otherReads = 0;
    this.writes = 0;
    this.throttled = { reads: 0, writes: 0 };
    this.readTimes.clear();
  }

  policy(): PipelinePolicy {
    return {
      name: 'benchArmTally',
      sendRequest: async (request, next) => {
        this.clock.inFlight += 1;
        const response = await next(request).finally(() => {
          this.clock.inFlight -= 1;
        });
        const path = new URL(request.url).pathname;
        const read = request.method === 'GET';
        if (response.status === 429) {
          if (read) this.throttled.reads += 1;
          else this.throttled.writes += 1;
        }
        if (!read) this.writes += 1;
        else if (/\/containerGroups$/.test(path)) this.lists += 1;
        else if (/\/containerGroups\/[^/]+$/.test(path)) {
          this.gets += 1;
          const name = path.slice(path.lastIndexOf('/') + 1);
          const times = this.readTimes.get(name) ?? [];
          times.push(this.clock.now());
          this.readTimes.set(name, times);
        } else this.otherReads += 1;
        return response;
      },
    };
  }
}

export interface PodRecord {
  pod: V1Pod;
  boundAt: number;
  /** When the connector first reported the pod Running (compressed time). */
  runningAt?: number;
  /** When ACI says its container started (the status's startedAt). */
  startedAt?: number;
  /** What the pod first said while it waited for ACI's create window. */
  pacedMessage?: string | undefined;
}

export interface World {
  clock: VirtualTimers;
  emulator: RunningEmulator;
  controller: PodController;
  tally: ArmTally;
  pods: Map<string, PodRecord>;
  config: ConnectorConfig;
  bind(index: number): void;
  running(): number;
  close(): Promise<void>;
}

const NO_REFERENCES: ReferencedObjects = {
  configMaps: new Map(),
  secrets: new Map(),
  serviceAccount: undefined,
};

/** The connector's configuration with nothing set but what it requires: its defaults. */
export function defaultConfig(): ConnectorConfig {
  const parsed = readConfig({ AZURE_SUBSCRIPTION_ID: 'bench', ACI_RESOURCE_GROUP: 'bench' });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

export async function startWorld(options: {
  emulator?: Partial<EmulatorOptions>;
  /** Create pacing; default: the connector's default (ACI's default limits). */
  createLimits?: ConnectorConfig['createLimits'];
}): Promise<World> {
  const clock = new VirtualTimers();
  const config = defaultConfig();
  const emulator = await startEmulator({
    timeline: 'realistic',
    addresses: 'documentation',
    // Tokens are issued on the virtual clock; the SDK caches them by the wall clock.
    tokenLifetimeSeconds: 3600 * 24 * 365,
    clock: () => clock.now(),
    ...options.emulator,
  });
  const { client, monitor } = createAzureClients({
    ...clientSettingsFor(emulator),
    trustPublicRoots: false,
    // A 429 goes back to the connector at once: it, not the SDK, must honour Retry-After.
    retry: { maxRetries: 0 },
  });
  const tally = new ArmTally(clock);
  client.pipeline.addPolicy(tally.policy());
  const readBudget = watchReadBudget([client, monitor], clock, config.timing.readBudgetShare);
  throttleArmCalls([client, monitor], clock);
  const metrics = createConnectorMetrics(createRegistry({ component: 'bench', processMetrics: false }));
  const pods = new Map<string, PodRecord>();
  const controller = benchController({
    groups: new AciContainerGroups({
      client,
      resourceGroup: emulator.resourceGroup,
      region: emulator.region,
      metrics,
      health: new AzureHealth(),
    }),
    metrics,
    clock,
    config,
    pods,
    region: emulator.region,
    createLimits: options.createLimits ?? config.createLimits,
    readBudget,
  });
  controller.start(new AbortController().signal);
  await controller.triggerSync();
  return {
    clock,
    emulator,
    controller,
    tally,
    pods,
    config,
    bind(index) {
      const pod: V1Pod = {
        metadata: { name: `web-${String(index)}`, namespace: 'bench', uid: `uid-${String(index)}` },
        spec: {
          nodeName: config.nodeName,
          containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }],
        },
        status: { phase: 'Pending' },
      };
      pods.set(`bench/web-${String(index)}`, { pod, boundAt: clock.now() });
      controller.enqueue(pod);
    },
    running: () => [...pods.values()].filter((record) => record.runningAt !== undefined).length,
    async close() {
      await controller.shutdown();
      await emulator.close();
    },
  };
}

/** What the benchmarks learn from a status the connector wrote. */
function recordStatus(record: PodRecord, status: V1PodStatus, now: number): void {
  record.pod.status = status;
  const state = status.containerStatuses?.[0]?.state;
  if (status.phase === 'Running' && record.runningAt === undefined) {
    record.runningAt = now;
    const started = state?.running?.startedAt;
    if (started !== undefined) record.startedAt = new Date(started).getTime();
  }
  const waiting = state?.waiting;
  if (waiting?.reason === 'CreatePaced') record.pacedMessage ??= waiting.message;
}

/** The pod controller as main.ts builds it, with the cluster's side played by the `pods` map. */
export function benchController(options: {
  groups: ContainerGroupApi;
  metrics: ConnectorMetrics;
  clock: VirtualTimers;
  config: ConnectorConfig;
  pods: Map<string, PodRecord>;
  region: string;
  createLimits: ConnectorConfig['createLimits'];
  readBudget: ArmReadBudget;
}): PodController {
  const { clock, config, pods, metrics, readBudget } = options;
  return new PodController({
    groups: options.groups,
    pods: {
      updateStatus: (pod: V1Pod, status: V1PodStatus) => {
        const record = pods.get(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`);
        if (record !== undefined) recordStatus(record, status, clock.now());
        return Promise.resolve();
      },
      forceDelete: () => Promise.resolve(),
      fetchReferences: () => Promise.resolve(NO_REFERENCES),
    },
    // The pods set no args without command or workingDir: no registry is ever asked.
    images: { resolve: () => Promise.reject(new Error('the bench reads no image configurations')) },
    events: { record: () => undefined },
    cache: {
      synced: true,
      get: (namespace, name) => pods.get(`${namespace}/${name}`)?.pod,
      list: () => [...pods.values()].map((record) => record.pod),
      // The bench enqueues its pods itself.
      subscribe: () => () => undefined,
    },
    namespaces: { synced: true, optedIn: () => true },
    clock,
    logger: silentLogger(),
    metrics,
    settings: {
      region: options.region,
      nodeName: config.nodeName,
      clusterId: 'bench',
      network: DEFAULT_NETWORK_SETTINGS,
      limits: DEFAULT_ACI_LIMITS,
    },
    hostIP: '10.0.0.4',
    pacer: new CreatePacer(options.createLimits, { marginMs: CREATE_WINDOW_MARGIN_MS }),
    readBudget,
    timing: podControllerTiming(config.timing),
    // Backoff without jitter: the same run gives the same figures.
    random: () => 0.5,
  });
}

/** The value at fraction `p` of the sorted values (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}
