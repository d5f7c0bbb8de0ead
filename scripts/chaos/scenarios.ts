// The chaos scenarios. Each starts its own world (harness.ts), runs a burst while its faults play out
// at seeded moments, waits (bounded) for the pods to converge, deletes them in bulk, and reports one
// flat object of figures with the goals it was judged by.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api } from '@kubernetes/client-node';
import { containerGroupName } from '../../contract/index.ts';
import { createAzureClients } from '../../connector/azure-client.ts';
import type { FaultRule } from '../../test/emulator/faults.ts';
import { clientSettingsFor } from '../../test/emulator/testing.ts';
import { compactEtcd, restartComponent } from '../controlplane/cluster.ts';
import {
  CALL_TIMEOUT_MS,
  chaosPod,
  type ChaosCluster,
  type ChaosWorld,
  createPods,
  deleteAllPods,
  listPods,
  logFigures,
  namespaceGroups,
  orphanGroups,
  podCounts,
  reconnect,
  seededRandom,
  startWorld,
  waitAllGone,
  waitFor,
  withFaultsFor,
  withTimeout,
} from './harness.ts';

export interface ScenarioOptions {
  seed: number;
  pods: number;
  /** Connector kills during the burst (connector-kills). */
  kills: number;
  /** Connector kills during the bulk delete (connector-kills). */
  deleteKills: number;
  /** How long the API server stays away (apiserver-outage). */
  outageSeconds: number;
  /** Bound of each wait for convergence. */
  timeoutSeconds: number;
  cluster: ChaosCluster;
  /** The state directory of a private cluster whose API server this run may stop (apiserver-outage). */
  privateClusterDir?: string;
  /** Told each step as it starts, so a long run shows where it is. */
  progress?: (step: string) => void;
}

export type ScenarioReport = Record<string, unknown> & {
  scenario: string;
  goalsMet: boolean;
  missed: string[];
};

export type Scenario = (options: ScenarioOptions) => Promise<ScenarioReport>;

function names(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** A seeded gap before each of `count` SIGKILLs, each followed by a restart (which waits until ready). */
async function killRepeatedly(world: ChaosWorld, random: () => number, count: number): Promise<number> {
  let kills = 0;
  for (let i = 0; i < count; i++) {
    await sleep(300 + Math.floor(random() * 3000));
    await world.connector.kill();
    kills += 1;
    await world.connector.restart();
  }
  return kills;
}

/** Seconds until every pod of `expected` is Running, or undefined at the bound. */
function allRunning(
  world: ChaosWorld,
  expected: number,
  timeoutSeconds: number,
): Promise<number | undefined> {
  return waitFor(async () => (await podCounts(world)).running >= expected, timeoutSeconds * 1000);
}

/** Judges figures against goals: each goal names what was missed. */
function judge(
  scenario: string,
  figures: Record<string, unknown>,
  goals: Record<string, boolean>,
): ScenarioReport {
  const missed = Object.entries(goals)
    .filter(([, met]) => !met)
    .map(([goal]) => goal);
  return { scenario, ...figures, goalsMet: missed.length === 0, missed };
}

/** The goals every burst shares: all it expects Running, none Failed, nothing created twice or left behind. */
function burstGoals(
  expectedRunning: number,
  counts: { running: number; failed: number },
  orphansBeforeDelete: number,
  end: EndFigures,
): Record<string, boolean> {
  return {
    allRunning: counts.running === expectedRunning,
    noneFailed: counts.failed === 0,
    noDuplicateCreates: end.duplicateCreates === 0,
    noOrphans: orphansBeforeDelete === 0 && end.orphanGroups === 0,
    noDeleteLost: end.deletesLost === 0,
  };
}

type EndFigures = { deleteSeconds: number | undefined; deletesLost: number; orphanGroups: number } & Awaited<
  ReturnType<typeof logFigures>
>;

/** The common end: delete every remaining pod, wait until pods and groups are gone, read the log. */
async function deleteAndMeasure(
  world: ChaosWorld,
  options: ScenarioOptions,
  during: () => Promise<unknown> = () => Promise.resolve(),
): Promise<EndFigures> {
  const remaining = (await listPods(world)).map((p) => p.metadata?.name ?? '');
  options.progress?.(`deleting ${remaining.length} pods`);
  await Promise.all([deleteAllPods(world, remaining), during()]);
  options.progress?.('waiting until every pod and group is gone');
  const gone = await waitAllGone(world, remaining, options.timeoutSeconds * 1000);
  return {
    deleteSeconds: gone.seconds,
    deletesLost: gone.deletesLost,
    orphanGroups: gone.orphans,
    ...(await logFigures(world)),
  };
}

export const connectorKills: Scenario = async (options) => {
  const random = seededRandom(options.seed);
  const world = await startWorld({ cluster: options.cluster, seed: options.seed, pods: options.pods });
  try {
    const started = Date.now();
    const [, kills] = await Promise.all([
      createPods(
        world,
        names('p', options.pods).map((name) => chaosPod(world, name)),
      ),
      killRepeatedly(world, random, options.kills),
    ]);
    const converged = await allRunning(world, options.pods, options.timeoutSeconds);
    const counts = await podCounts(world);
    const orphansBeforeDelete = (await orphanGroups(world)).length;
    let deleteKills = 0;
    const end = await deleteAndMeasure(world, options, async () => {
      deleteKills = await killRepeatedly(world, random, options.deleteKills);
    });
    return judge(
      'connector-kills',
      {
        seed: options.seed,
        podsCreated: options.pods,
        running: counts.running,
        failed: counts.failed,
        kills,
        deleteKills,
        convergeSeconds: converged === undefined ? undefined : (Date.now() - started) / 1000,
        orphansBeforeDelete,
        ...end,
      },
      burstGoals(options.pods, counts, orphansBeforeDelete, end),
    );
  } finally {
    await world.close();
  }
};

/**
 * Stops kube-apiserver during a burst; right after it returns, force-deletes some pods and creates
 * others, then compacts etcd so every watch resuming from before the outage gets 410 Gone.
 */
export const apiserverOutage: Scenario = async (options) => {
  const stateDir = options.privateClusterDir;
  if (stateDir === undefined) throw new Error('apiserver-outage needs a private cluster (privateClusterDir)');
  const random = seededRandom(options.seed);
  const world = await startWorld({ cluster: options.cluster, seed: options.seed, pods: options.pods });
  try {
    const started = Date.now();
    const first = names('p', options.pods);
    const outageAfterMs = 1000 + Math.floor(random() * 4000);
    let revision = 0;
    const forceDeleted: string[] = [];
    const later = names('q', Math.max(1, Math.floor(options.pods / 10)));
    const progress = options.progress ?? (() => undefined);
    progress(`creating ${first.length} pods`);
    const creatingFirst = createPods(
      world,
      first.map((name) => chaosPod(world, name)),
    );
    const outage = async (): Promise<void> => {
      await sleep(outageAfterMs);
      progress(`stopping kube-apiserver for ${options.outageSeconds} s`);
      await restartComponent(stateDir, 'kube-apiserver', () => sleep(options.outageSeconds * 1000));
      reconnect(world);
      progress('kube-apiserver restarted; waiting until it answers');
      await waitFor(() => apiServerReady(world.core), 60_000);
      // Only pods whose create has settled: a create still being retried after the outage would bring
      // a force-deleted pod back, and its group with it.
      await creatingFirst;
      // Changes the connector's broken watch never saw: the resumed watch is refused (compacted).
      const victims = first.filter(() => random() < 0.1);
      progress(`force-deleting ${victims.length} pods, creating ${later.length}`);
      await deleteAllPods(world, victims, 0);
      forceDeleted.push(...victims);
      await createPods(
        world,
        later.map((name) => chaosPod(world, name)),
      );
      progress('compacting etcd');
      revision = await withTimeout(compactEtcd(stateDir), CALL_TIMEOUT_MS, 'compacting etcd');
    };
    await Promise.all([creatingFirst, outage()]);
    const expected = first.length - forceDeleted.length + later.length;
    progress(`waiting for ${expected} pods Running`);
    const converged = await allRunning(world, expected, options.timeoutSeconds);
    const counts = await podCounts(world);
    // The groups of the force-deleted pods must go without any event the connector's watch delivered.
    progress(`waiting for the groups of ${forceDeleted.length} force-deleted pods to go`);
    const missedDeletes = await waitFor(async () => {
      const groups = new Set((await namespaceGroups(world)).map((g) => g.name));
      return forceDeleted.every(
        (name) => !groups.has(containerGroupName(world.namespace, name, world.clusterId)),
      );
    }, options.timeoutSeconds * 1000);
    const orphansBeforeDelete = (await orphanGroups(world)).length;
    const end = await deleteAndMeasure(world, options);
    return judge(
      'apiserver-outage',
      {
        seed: options.seed,
        podsCreated: first.length + later.length,
        outageSeconds: options.outageSeconds,
        outageAfterSeconds: outageAfterMs / 1000,
        forceDeletedAfterOutage: forceDeleted.length,
        compactedAtRevision: revision,
        running: counts.running,
        expectedRunning: expected,
        failed: counts.failed,
        convergeSeconds: converged === undefined ? undefined : (Date.now() - started) / 1000,
        orphansBeforeDelete,
        ...end,
      },
      {
        ...burstGoals(expected, counts, orphansBeforeDelete, end),
        noMissedDelete: missedDeletes !== undefined,
      },
    );
  } finally {
    await world.close();
  }
};

async function apiServerReady(core: CoreV1Api): Promise<boolean> {
  await core.readNamespace({ name: 'kube-system' });
  return true;
}

function forceDelete(world: ChaosWorld, name: string): Promise<void> {
  return deleteAllPods(world, [name], 0);
}

/** 10% of ARM calls throttled (Retry-After 1 s), 5% 5xx, 1% dropped after being applied, 10% slow. */
export const AZURE_FAULTS = [
  { fault: 'latency' as const, rate: 0.1, latencyMs: 1500 },
  { fault: 'throttle' as const, rate: 0.1, retryAfterSeconds: 1 },
  { fault: 'internal-error' as const, rate: 0.05 / 0.9 },
  { fault: 'drop-after-apply' as const, rate: 0.01 / 0.85 },
];

export const azureFaults: Scenario = async (options) => {
  const world = await startWorld({ cluster: options.cluster, seed: options.seed, pods: options.pods });
  try {
    await world.emulator.control.setFaults(AZURE_FAULTS, options.seed);
    const started = Date.now();
    await createPods(
      world,
      names('p', options.pods).map((name) => chaosPod(world, name)),
    );
    const converged = await allRunning(world, options.pods, options.timeoutSeconds);
    const counts = await podCounts(world);
    const orphansBeforeDelete = (await orphanGroups(world)).length;
    const end = await deleteAndMeasure(world, options);
    await world.emulator.control.clearFaults();
    return judge(
      'azure-faults',
      {
        seed: options.seed,
        podsCreated: options.pods,
        running: counts.running,
        failed: counts.failed,
        convergeSeconds: converged === undefined ? undefined : (Date.now() - started) / 1000,
        orphansBeforeDelete,
        ...end,
      },
      {
        ...burstGoals(options.pods, counts, orphansBeforeDelete, end),
        noUnhonouredRetryAfter: end.unhonouredRetryAfter === 0,
      },
    );
  } finally {
    await world.close();
  }
};

/** `count` names drawn from `from` without replacement, seeded; they leave `from`. */
function draw(from: string[], count: number, random: () => number): string[] {
  const chosen: string[] = [];
  for (let i = 0; i < count && from.length > 0; i++) {
    chosen.push(...from.splice(Math.floor(random() * from.length), 1));
  }
  return chosen;
}

async function nodeReady(world: ChaosWorld): Promise<boolean> {
  const node = await world.core.readNode({ name: world.nodeName });
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/**
 * Someone else's hands: groups deleted and stopped through ARM behind the connector's back (pods with
 * restartPolicy Always and Never alike), the virtual node deleted, and a pod force-deleted while its
 * group is being created. The restart policy decides: Always pods run again, Never pods whose group
 * went away fail; the node returns within 30 s; no group is left behind.
 */
export const foreignHands: Scenario = async (options) => {
  const random = seededRandom(options.seed);
  const world = await startWorld({ cluster: options.cluster, seed: options.seed, pods: options.pods });
  try {
    const always = names('a', Math.ceil(options.pods / 2));
    const never = names('n', Math.floor(options.pods / 2));
    await createPods(world, [
      ...always.map((name) => chaosPod(world, name, 'Always')),
      ...never.map((name) => chaosPod(world, name, 'Never')),
    ]);
    const firstRun = await allRunning(world, options.pods, options.timeoutSeconds);
    const { client } = createAzureClients(clientSettingsFor(world.emulator));
    const group = (name: string): string => containerGroupName(world.namespace, name, world.clusterId);
    const perKind = Math.max(1, Math.floor(options.pods / 10));
    const [alwaysLeft, neverLeft] = [[...always], [...never]];
    const hands = {
      deletedAlways: draw(alwaysLeft, perKind, random),
      stoppedAlways: draw(alwaysLeft, perKind, random),
      deletedNever: draw(neverLeft, perKind, random),
      stoppedNever: draw(neverLeft, perKind, random),
    };
    const rg = world.emulator.resourceGroup;
    const started = Date.now();
    await Promise.all([
      ...[...hands.deletedAlways, ...hands.deletedNever].map((name) =>
        client.containerGroups.beginDeleteAndWait(rg, group(name)),
      ),
      ...[...hands.stoppedAlways, ...hands.stoppedNever].map((name) =>
        client.containerGroups.stop(rg, group(name)),
      ),
    ]);
    await world.core.deleteNode({ name: world.nodeName });
    const nodeReturnSeconds = await waitFor(() => nodeReady(world), 60_000);
    // A pod force-deleted while ACI still provisions its group.
    await createPods(world, [chaosPod(world, 'late')]);
    const lateGroupSeen = await waitFor(
      async () => (await namespaceGroups(world)).some((g) => g.name === group('late')),
      options.timeoutSeconds * 1000,
    );
    await forceDelete(world, 'late');
    const failedExpected = hands.deletedNever.length + hands.stoppedNever.length;
    const runningExpected = options.pods - failedExpected;
    // A pod's status may still say Running from before: the groups say whether Always pods run again.
    const alwaysRunningInAzure = async (): Promise<number> => {
      const running = new Set(
        (await namespaceGroups(world)).filter((g) => g.state === 'Running').map((g) => g.name),
      );
      return always.filter((name) => running.has(group(name))).length;
    };
    const converged = await waitFor(async () => {
      const counts = await podCounts(world);
      return (
        counts.running === runningExpected &&
        counts.failed === failedExpected &&
        (await alwaysRunningInAzure()) === always.length
      );
    }, options.timeoutSeconds * 1000);
    const counts = await podCounts(world);
    const alwaysRunning = await alwaysRunningInAzure();
    const orphansBeforeDelete = (await orphanGroups(world)).length;
    const end = await deleteAndMeasure(world, options);
    return judge(
      'foreign-hands',
      {
        seed: options.seed,
        podsCreated: options.pods + 1,
        groupsDeletedOutside: hands.deletedAlways.length + hands.deletedNever.length,
        groupsStoppedOutside: hands.stoppedAlways.length + hands.stoppedNever.length,
        running: counts.running,
        runningExpected,
        failed: counts.failed,
        failedExpected,
        alwaysGroupsRunning: alwaysRunning,
        nodeReturnSeconds,
        forceDeletedWhileCreating: lateGroupSeen !== undefined,
        convergeSeconds: converged === undefined ? undefined : (Date.now() - started) / 1000,
        orphansBeforeDelete,
        ...end,
      },
      {
        firstBurstRunning: firstRun !== undefined,
        restartPolicyDecided:
          counts.running === runningExpected &&
          counts.failed === failedExpected &&
          alwaysRunning === always.length,
        nodeBackWithin30s: nodeReturnSeconds !== undefined && nodeReturnSeconds <= 30,
        noOrphans: orphansBeforeDelete === 0 && end.orphanGroups === 0,
        noDuplicateCreates: end.duplicateCreates === 0,
        noDeleteLost: end.deletesLost === 0,
      },
    );
  } finally {
    await world.close();
  }
};

/** How long the emulator's tokens last in slow-and-stuck: short, so that they run out during the outage. */
const TOKEN_LIFETIME_SECONDS = 20;
/** Pods created, and running pods deleted, while no token can be had. */
const PODS_DURING_TOKEN_OUTAGE = 3;

interface TokenOutage {
  outageSeconds: number;
  latePods: string[];
  deletedPods: string[];
  latePodsExplained: boolean;
  /** Of the running pods not deleted, how many were still Running at the end of the outage. */
  runningThroughOutage: number;
  /**
   * The node's Ready condition at the end of the outage, `status/reason`: a run of failed ARM calls
   * makes it False, AzureUnreachable (connector/health.ts), as for any Azure outage.
   */
  nodeReadyAtOutageEnd: string;
}

/**
 * Entra ID's token endpoint stops answering (fault `hang`) while `running` pods run. Once every token
 * the connector held has expired, a few pods are created and a few running ones deleted; the outage
 * lasts until each new pod has an event saying why it waits (bounded), then Entra answers again.
 */
async function tokenOutage(
  world: ChaosWorld,
  faults: { base: FaultRule[]; seed: number },
  running: readonly string[],
): Promise<TokenOutage> {
  const latePods = names('late', PODS_DURING_TOKEN_OUTAGE);
  const deletedPods = running.slice(0, PODS_DURING_TOKEN_OUTAGE);
  const started = Date.now();
  const hang: FaultRule = { service: 'entra', fault: 'hang', pathContains: '/oauth2/v2.0/token' };
  return withFaultsFor(world, { ...faults, extra: [hang] }, async () => {
    await sleep(TOKEN_LIFETIME_SECONDS * 1000);
    await createPods(
      world,
      latePods.map((name) => chaosPod(world, name)),
    );
    await deleteAllPods(world, deletedPods);
    const explained = await waitFor(async () => {
      const events = await world.core.listNamespacedEvent({ namespace: world.namespace });
      return latePods.every((name) =>
        events.items.some(
          (e) => e.involvedObject.name === name && e.reason === 'AzureCredentialsUnavailable',
        ),
      );
    }, 90_000);
    const kept = new Set(running.filter((name) => !deletedPods.includes(name)));
    const stillRunning = (await listPods(world)).filter(
      (p) => kept.has(p.metadata?.name ?? '') && p.status?.phase === 'Running',
    ).length;
    const node = await withTimeout(
      world.core.readNode({ name: world.nodeName }),
      CALL_TIMEOUT_MS,
      'a node read',
    );
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    return {
      outageSeconds: (Date.now() - started) / 1000,
      latePods,
      deletedPods,
      latePodsExplained: explained !== undefined,
      runningThroughOutage: stillRunning,
      nodeReadyAtOutageEnd: `${ready?.status ?? 'Unknown'}/${ready?.reason ?? ''}`,
    };
  });
}

/**
 * Slow and stuck: every create of the `stuck-` pods is accepted and never finishes, and 20% of ARM
 * reads take 3 s. Once the other pods run, Entra ID's token endpoint stops answering for a while
 * (tokenOutage). Goal: each stuck pod and each pod created during the outage says why in an event
 * (the stuck groups replaced, never piled up), the running pods stay Running, the deletes asked
 * during the outage happen once tokens return, and the connector's queue, memory and token requests
 * stay bounded.
 */
export const slowAndStuck: Scenario = async (options) => {
  const provisioningTimeoutSeconds = 15;
  const world = await startWorld({
    cluster: options.cluster,
    seed: options.seed,
    pods: options.pods,
    connectorEnv: { ACI_PROVISIONING_TIMEOUT_SECONDS: String(provisioningTimeoutSeconds) },
    emulator: { tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS },
  });
  try {
    const stuck = names('stuck', 2);
    const others = names('p', options.pods);
    const base: FaultRule[] = [
      { fault: 'latency', method: 'GET', rate: 0.2, latencyMs: 3000 },
      { fault: 'stall', method: 'PUT', pathContains: `/containerGroups/${world.namespace}-stuck-` },
    ];
    await world.emulator.control.setFaults(base, options.seed);
    const started = Date.now();
    await createPods(
      world,
      [...stuck, ...others].map((name) => chaosPod(world, name)),
    );
    const converged = await allRunning(world, others.length, options.timeoutSeconds);
    const convergeSeconds = converged === undefined ? undefined : (Date.now() - started) / 1000;
    const outage = await tokenOutage(world, { base, seed: options.seed }, others);
    // Every pod not deleted runs again, and the deletes asked during the outage are done.
    const expected = new Set([...others, ...outage.latePods].filter((n) => !outage.deletedPods.includes(n)));
    const recoverySeconds = await waitFor(async () => {
      const pods = await listPods(world);
      const groups = new Set((await namespaceGroups(world)).map((g) => g.name));
      const running = pods.filter(
        (p) => expected.has(p.metadata?.name ?? '') && p.status?.phase === 'Running',
      );
      return (
        running.length === expected.size &&
        outage.deletedPods.every(
          (name) =>
            !pods.some((p) => p.metadata?.name === name) &&
            !groups.has(containerGroupName(world.namespace, name, world.clusterId)),
        )
      );
    }, options.timeoutSeconds * 1000);
    // Two timeouts at least: the stuck groups were replaced once and their pods said so.
    const explained = await waitFor(
      async () => {
        const events = await world.core.listNamespacedEvent({ namespace: world.namespace });
        return stuck.every((name) =>
          events.items.some(
            (e) => e.involvedObject.name === name && /did not finish provisioning/.test(e.message ?? ''),
          ),
        );
      },
      (provisioningTimeoutSeconds * 3 + 30) * 1000,
    );
    const counts = await podCounts(world);
    const groupsOfStuck = (await namespaceGroups(world)).filter((g) => g.name.includes('-stuck-')).length;
    const metrics = await fetch(`${world.connector.opsUrl}/metrics`).then((r) => r.text());
    const queueDepth = Number(/^aci_work_queue_depth\S* (\d+)/m.exec(metrics)?.[1] ?? NaN);
    const rssBytes = Number(/^process_resident_memory_bytes\S* (\d+)/m.exec(metrics)?.[1] ?? NaN);
    const orphansBeforeDelete = (await orphanGroups(world)).length;
    const end = await deleteAndMeasure(world, options);
    await world.emulator.control.clearFaults();
    return judge(
      'slow-and-stuck',
      {
        seed: options.seed,
        podsCreated: stuck.length + others.length + outage.latePods.length,
        stuckPods: stuck.length,
        running: counts.running,
        failed: counts.failed,
        convergeSeconds,
        stuckPodsExplained: explained !== undefined,
        groupsOfStuckPods: groupsOfStuck,
        tokenOutageSeconds: outage.outageSeconds,
        latePodsExplained: outage.latePodsExplained,
        runningThroughOutage: outage.runningThroughOutage,
        nodeReadyAtOutageEnd: outage.nodeReadyAtOutageEnd,
        recoverySeconds,
        queueDepth,
        connectorRssMiB: Math.round(rssBytes / 2 ** 20),
        orphansBeforeDelete,
        ...end,
      },
      {
        othersRunning: counts.running >= expected.size,
        noneFailed: counts.failed === 0,
        stuckPodsSayWhy: explained !== undefined,
        stuckGroupsDoNotPileUp: groupsOfStuck <= stuck.length,
        podsWaitingForTokensSayWhy: outage.latePodsExplained,
        runningPodsKeptThroughOutage:
          outage.runningThroughOutage === others.length - outage.deletedPods.length,
        // One refresh at a time per SDK client (containers, creates, Monitor), however many calls wait.
        tokenRequestsBounded: end.tokenRequests.peakOpen <= 3,
        recoveredAfterOutage: recoverySeconds !== undefined,
        noOrphans: end.orphanGroups === 0,
        noDeleteLost: end.deletesLost === 0,
        noDuplicateCreates: end.duplicateCreates === 0,
      },
    );
  } finally {
    await world.close();
  }
};
