// The world a chaos scenario runs in: the in-process ACI emulator on a compressed realistic timeline,
// the real connector as a child process (so it can be SIGKILLed), and a namespace of a local cluster;
// plus the waits and the figures every scenario shares. Everything waits against a deadline.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import {
  ACI_TAINT_KEY,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  containerGroupName,
  TAGS,
} from '../../contract/index.ts';
import { classifyKubernetesError, isNotFound } from '../../runtime/errors.ts';
import { eachConcurrently } from '../../runtime/references.ts';
import type { GroupSummary } from '../../test/emulator/control.ts';
import { type FaultRule, nextRandom } from '../../test/emulator/faults.ts';
import { compressTimeline, TIMELINES } from '../../test/emulator/lifecycle.ts';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../test/emulator/server.ts';
import { startConnectorProcess, type RunningConnector } from '../local/connector-process.ts';
import {
  createFigures,
  faultCounts,
  retryAfterFigures,
  tokenRequestFigures,
  type TokenRequestFigures,
} from './measure.ts';

/** Realistic provisioning (~30 s) ten times faster: ~3 s, with restart back-offs scaled alike. */
export const TIMELINE_FACTOR = 10;

/** The cluster a scenario uses: the shared one, or a private one (apiserver-outage). */
export interface ChaosCluster {
  kubeconfigPath: string;
  kubeletClientCaPath: string;
  /** A fresh namespace opted in to bursting; removed by whoever made it. */
  createNamespace(prefix: string, labels: Record<string, string>): Promise<string>;
  deleteNamespace(name: string): Promise<void>;
}

export interface ChaosWorld {
  emulator: RunningEmulator;
  connector: RunningConnector;
  /** Replaced by reconnect(): after an API server restart, connections the old client kept may never answer. */
  core: CoreV1Api;
  kubeconfigPath: string;
  namespace: string;
  nodeName: string;
  clusterId: string;
  /** Everything started here, stopped in reverse order; safe to call twice. */
  close(): Promise<void>;
}

export const OPTED_IN = { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED };

/** Generous limits: the scenarios measure faults, not ACI's create budget (the connector paces anyway). */
const UNLIMITED_RATES: EmulatorOptions['rateLimits'] = {
  aciCreatesPerHour: 100_000,
  aciCreatesPer5Minutes: 100_000,
  aciDeletesPerHour: 100_000,
  aciDeletesPer5Minutes: 100_000,
  armReads: { capacity: 100_000, refillPerSecond: 10_000 },
  armWrites: { capacity: 100_000, refillPerSecond: 10_000 },
  armDeletes: { capacity: 100_000, refillPerSecond: 10_000 },
};

export async function startWorld(options: {
  cluster: ChaosCluster;
  seed: number;
  pods: number;
  /** Extra connector settings (the defaults suit a burst of `pods`). */
  connectorEnv?: Record<string, string>;
  emulator?: EmulatorOptions;
}): Promise<ChaosWorld> {
  const cleanups: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup().catch(() => undefined);
  };
  try {
    const emulator = await startEmulator({
      timeline: compressTimeline(TIMELINES.realistic, TIMELINE_FACTOR),
      seed: options.seed,
      addresses: 'documentation',
      quotas: { containerGroups: options.pods * 4 + 100, standardCores: options.pods * 4 + 100 },
      rateLimits: UNLIMITED_RATES,
      requestLogCapacity: 2_000_000,
      ...options.emulator,
    });
    cleanups.push(() => emulator.close());
    const core = coreClient(options.cluster.kubeconfigPath);
    const namespace = await options.cluster.createNamespace('chaos', OPTED_IN);
    cleanups.push(() => options.cluster.deleteNamespace(namespace));
    const nodeName = `aci-chaos-${randomBytes(3).toString('hex')}`;
    cleanups.push(async () => {
      await core.deleteNode({ name: nodeName });
    });
    const connector = await startConnectorProcess({
      adminKubeconfigPath: options.cluster.kubeconfigPath,
      kubeletClientCaPath: options.cluster.kubeletClientCaPath,
      azure: emulator,
      nodeName,
      parentEnv: process.env,
      env: {
        LOG_LEVEL: 'info',
        ACI_CREATES_PER_5_MINUTES: '100000',
        ACI_CREATES_PER_HOUR: '100000',
        NODE_PODS: String(options.pods * 2 + 10),
        NODE_STATUS_INTERVAL_SECONDS: '2',
        ACI_WAIT_RETRY_SECONDS: '2',
        ...options.connectorEnv,
      },
    });
    cleanups.push(() => connector.stop());
    const clusterId = (await core.readNamespace({ name: 'kube-system' })).metadata?.uid ?? '';
    const { kubeconfigPath } = options.cluster;
    return { emulator, connector, core, kubeconfigPath, namespace, nodeName, clusterId, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function coreClient(kubeconfigPath: string): CoreV1Api {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return kubeConfig.makeApiClient(CoreV1Api);
}

/** A fresh client for the scenario's own calls (see ChaosWorld.core). */
export function reconnect(world: ChaosWorld): void {
  world.core = coreClient(world.kubeconfigPath);
}

export function chaosPod(
  world: Pick<ChaosWorld, 'nodeName'>,
  name: string,
  restartPolicy: 'Always' | 'Never' = 'Always',
): V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName: world.nodeName,
      restartPolicy,
      containers: [{ name: 'app', image: 'nginx' }],
      tolerations: [{ key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
    },
  };
}

/**
 * One API call, tried again (at most 60 times, a second apart) until it succeeds or fails in a way
 * `settled` accepts: the API server may be away for a while.
 */
async function persist(
  what: string,
  call: () => Promise<unknown>,
  settled: (error: Error) => boolean,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await withTimeout(call(), CALL_TIMEOUT_MS, what);
      return;
    } catch (error) {
      const classified = classifyKubernetesError(error);
      if (settled(classified)) return;
      if (attempt >= 60) throw classified;
      await sleep(1000);
    }
  }
}

/** Creates the pods, 20 at a time (one that already exists counts as created). */
export async function createPods(world: ChaosWorld, pods: readonly V1Pod[]): Promise<void> {
  await eachConcurrently(pods, 20, (pod) =>
    persist(
      'a pod create',
      () => world.core.createNamespacedPod({ namespace: world.namespace, body: pod }),
      (error) => /AlreadyExists|already exists/i.test(error.message),
    ),
  );
}

export async function listPods(world: ChaosWorld): Promise<V1Pod[]> {
  return (await world.core.listNamespacedPod({ namespace: world.namespace })).items;
}

/** No single request may hold a scenario: a call to a server that went away could wait for ever. */
export const CALL_TIMEOUT_MS = 30_000;

/** `work`, or a rejection naming `what` once `ms` have passed. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} took longer than ${ms / 1000}s`));
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` once a second until it returns true or `timeoutMs` passes; the seconds it took, or undefined. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const done = await withTimeout(probe(), CALL_TIMEOUT_MS, 'a probe').catch(() => false);
    if (done) return (Date.now() - started) / 1000;
    await sleep(1000);
  }
  return undefined;
}

export interface PodCounts {
  pods: number;
  running: number;
  failed: number;
  pending: number;
}

export async function podCounts(world: ChaosWorld): Promise<PodCounts> {
  const pods = await listPods(world);
  const phase = (name: string): number => pods.filter((p) => p.status?.phase === name).length;
  return { pods: pods.length, running: phase('Running'), failed: phase('Failed'), pending: phase('Pending') };
}

/** The namespace's groups, read beside ARM. */
export async function namespaceGroups(world: ChaosWorld): Promise<GroupSummary[]> {
  return (await world.emulator.control.groups()).filter((g) => g.tags[TAGS.namespace] === world.namespace);
}

/** Groups of this namespace whose pod (by name and UID) no longer exists. */
export async function orphanGroups(world: ChaosWorld): Promise<string[]> {
  const live = new Set(
    (await listPods(world)).map((p) => `${p.metadata?.name ?? ''}/${p.metadata?.uid ?? ''}`),
  );
  return (await namespaceGroups(world))
    .filter((g) => !live.has(`${g.tags[TAGS.podName] ?? ''}/${g.tags[TAGS.podUid] ?? ''}`))
    .map((g) => g.name);
}

/** Deletes pods (gracefully: the connector removes them once their groups are gone; gone already is fine). */
export async function deleteAllPods(
  world: ChaosWorld,
  names: readonly string[],
  gracePeriodSeconds?: number,
): Promise<void> {
  await eachConcurrently(names, 20, (name) =>
    persist(
      'a pod delete',
      () =>
        world.core.deleteNamespacedPod({
          namespace: world.namespace,
          name,
          ...(gracePeriodSeconds !== undefined && { gracePeriodSeconds }),
        }),
      (error) => isNotFound(error),
    ),
  );
}

/**
 * Waits until no pod and no group of the namespace is left. Deletes lost: pods deleted whose object
 * or group is still there at the deadline.
 */
export async function waitAllGone(
  world: ChaosWorld,
  deleted: readonly string[],
  timeoutMs: number,
): Promise<{ seconds: number | undefined; deletesLost: number; orphans: number }> {
  const seconds = await waitFor(
    async () => (await listPods(world)).length === 0 && (await namespaceGroups(world)).length === 0,
    timeoutMs,
  );
  const podsLeft = new Set((await listPods(world)).map((p) => p.metadata?.name ?? ''));
  const groupsLeft = new Set((await namespaceGroups(world)).map((g) => g.name));
  const deletesLost = deleted.filter(
    (name) =>
      podsLeft.has(name) || groupsLeft.has(containerGroupName(world.namespace, name, world.clusterId)),
  ).length;
  return { seconds, deletesLost, orphans: (await orphanGroups(world)).length };
}

/** The figures read from the emulator's request log for this namespace's groups. */
export async function logFigures(world: ChaosWorld): Promise<{
  groupCreates: number;
  duplicateCreates: number;
  duplicateGroups: string[];
  retryAfters: number;
  unhonouredRetryAfter: number;
  unhonouredExamples: string[];
  injectedFaults: Record<string, number>;
  armRequests: number;
  tokenRequests: TokenRequestFigures;
}> {
  const log = await world.emulator.control.requests();
  const creates = createFigures(log, `${world.namespace}-`);
  const retries = retryAfterFigures(log);
  return {
    groupCreates: creates.creates,
    duplicateCreates: creates.duplicates,
    duplicateGroups: creates.duplicateGroups.slice(0, 5),
    retryAfters: retries.retryAfters,
    unhonouredRetryAfter: retries.unhonoured,
    unhonouredExamples: retries.examples,
    injectedFaults: faultCounts(log),
    armRequests: log.filter((entry) => entry.path.startsWith('/subscriptions/')).length,
    tokenRequests: tokenRequestFigures(log),
  };
}

/**
 * Runs `during` with the `extra` fault rules beside `base`, then goes back to `base` alone, whatever
 * happens: a fault that lasts a while (Entra ID's token endpoint hanging).
 */
export async function withFaultsFor<T>(
  world: ChaosWorld,
  rules: { base: FaultRule[]; extra: FaultRule[]; seed: number },
  during: () => Promise<T>,
): Promise<T> {
  await world.emulator.control.setFaults([...rules.base, ...rules.extra], rules.seed);
  try {
    return await during();
  } finally {
    await world.emulator.control.setFaults(rules.base, rules.seed);
  }
}

/** A seeded sequence in [0, 1) (the emulator's PRNG): the same seed gives the same kill moments and choices. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    const draw = nextRandom(state);
    state = draw.state;
    return draw.value;
  };
}
