// What the connector benchmarks share: the pod controller with the connector's default settings
// (parseConfig of an empty environment), the real Azure SDK, and the in-process ACI emulator on the
// realistic timeline, all on one compressed clock. Time runs `speed` times faster than the wall clock
// for the emulator (provisioning, ARM's token buckets, ACI's create windows) and for the connector
// (list loop, delayed retries, budgets) alike, so an hour of steady state takes 3600/speed seconds.
// What compression cannot scale is CPU: every millisecond the connector or the emulator spends counts
// `speed` milliseconds of ACI's time, so the figures are upper bounds of the latencies.
import { performance } from 'node:perf_hooks';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import {
  DEFAULT_ACI_LIMITS,
  DEFAULT_NETWORK_SETTINGS,
  type ReferencedObjects,
} from '../../../contract/index.ts';
import { AciContainerGroups, ThrottleGate } from '../../../connector/aci.ts';
import { createAzureClients } from '../../../connector/azure-client.ts';
import { parseConfig, type ConnectorConfig } from '../../../connector/config.ts';
import { AzureHealth } from '../../../connector/health.ts';
import { createConnectorMetrics } from '../../../connector/metrics.ts';
import { CREATE_WINDOW_MARGIN_MS, CreatePacer } from '../../../connector/pacing.ts';
import { PodController, podControllerTiming } from '../../../connector/pod-controller.ts';
import { watchReadBudget } from '../../../connector/read-budget.ts';
import { systemTimers, type Cancel, type Timers } from '../../../runtime/clock.ts';
import { silentLogger } from '../../../runtime/logger.ts';
import { createRegistry } from '../../../runtime/metrics.ts';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../../test/emulator/server.ts';
import { clientSettingsFor } from '../../../test/emulator/testing.ts';

/** Wall-clock timers with time running `speed` times faster. */
export class CompressedTimers implements Timers {
  private speed: number;
  private start: number;
  private realStart = performance.now();

  constructor(speed: number, start = Date.UTC(2026, 0, 1)) {
    this.speed = speed;
    this.start = start;
  }

  now(): number {
    return this.start + (performance.now() - this.realStart) * this.speed;
  }

  /** Changes the compression from now on (timers already set keep their wall-clock delay). */
  setSpeed(speed: number): void {
    this.start = this.now();
    this.realStart = performance.now();
    this.speed = speed;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemTimers.sleep(ms / this.speed, signal);
  }

  after(ms: number, fn: () => void): Cancel {
    return systemTimers.after(ms / this.speed, fn);
  }

  every(ms: number, fn: () => void): Cancel {
    return systemTimers.every(Math.max(1, ms / this.speed), fn);
  }

  /** Waits until `condition` holds or `deadlineMs` of compressed time pass; true when it held. */
  async until(condition: () => boolean, deadlineMs: number): Promise<boolean> {
    const deadline = this.now() + deadlineMs;
    while (!condition()) {
      if (this.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
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
  private readonly clock: Timers;

  constructor(clock: Timers) {
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
        const response = await next(request);
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
  /** The last reason and message the pod showed while it waited. */
  waiting?: { reason: string; message: string };
}

export interface World {
  clock: CompressedTimers;
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
  const parsed = parseConfig({ AZURE_SUBSCRIPTION_ID: 'bench', ACI_RESOURCE_GROUP: 'bench' });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

export async function startWorld(options: {
  speed: number;
  emulator?: Partial<EmulatorOptions>;
  /** Create pacing; default: the connector's default (ACI's default limits). */
  createLimits?: ConnectorConfig['createLimits'];
}): Promise<World> {
  const clock = new CompressedTimers(options.speed);
  const config = defaultConfig();
  const emulator = await startEmulator({
    timeline: 'realistic',
    addresses: 'documentation',
    // Tokens are issued on the compressed clock; the SDK caches them by the wall clock.
    tokenLifetimeSeconds: 3600 * options.speed * 24,
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
  const metrics = createConnectorMetrics(createRegistry({ component: 'bench', processMetrics: false }));
  const pods = new Map<string, PodRecord>();
  const controller = new PodController({
    groups: new AciContainerGroups({
      client,
      resourceGroup: emulator.resourceGroup,
      region: emulator.region,
      metrics,
      gate: new ThrottleGate(clock),
      logGate: new ThrottleGate(clock),
      health: new AzureHealth(),
    }),
    pods: {
      updateStatus: (pod: V1Pod, status: V1PodStatus) => {
        const record = pods.get(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`);
        if (record === undefined) return Promise.resolve();
        record.pod.status = status;
        if (status.phase === 'Running' && record.runningAt === undefined) {
          record.runningAt = clock.now();
          const started = status.containerStatuses?.[0]?.state?.running?.startedAt;
          if (started !== undefined) record.startedAt = new Date(started).getTime();
        }
        const waiting = status.containerStatuses?.[0]?.state?.waiting;
        if (waiting?.reason !== undefined)
          record.waiting = { reason: waiting.reason, message: waiting.message ?? '' };
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
    },
    namespaces: { synced: true, optedIn: () => true },
    clock,
    timers: clock,
    logger: silentLogger(),
    metrics,
    settings: {
      region: emulator.region,
      nodeName: config.nodeName,
      clusterId: 'bench',
      network: DEFAULT_NETWORK_SETTINGS,
      limits: DEFAULT_ACI_LIMITS,
    },
    hostIP: '10.0.0.4',
    pacer: new CreatePacer(options.createLimits ?? config.createLimits, {
      marginMs: CREATE_WINDOW_MARGIN_MS,
    }),
    readBudget,
    timing: podControllerTiming(config.timing),
  });
  controller.start();
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

/** The value at fraction `p` of the sorted values (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}
