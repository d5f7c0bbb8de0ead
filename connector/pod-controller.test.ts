import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { RestError } from '@azure/core-rest-pipeline';
import { AuthenticationRequiredError } from '@azure/identity';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import {
  containerGroupName,
  DEFAULT_ACI_LIMITS,
  DEFAULT_NETWORK_SETTINGS,
  type ImageConfig,
  type NetworkSettings,
  TAGS,
} from '../contract/index.ts';
import type { AzureCondition } from './health.ts';
import { FakeClock } from '../runtime/clock.ts';
import { ClassifiedError, classifyAzureError } from '../runtime/errors.ts';
import { silentLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { createConnectorMetrics } from './metrics.ts';
import { CreatePacer } from './pacing.ts';
import { PodController, type PodHooks } from './pod-controller.ts';
import type { ImageConfigSource } from './ports.ts';
import type { RegistryCredential } from './registry/client.ts';
import { REGISTRY_UNAVAILABLE } from './registry/resolver.ts';
import { CallLog, FakeArm, FakeKube } from './testing/call-log.ts';

const NODE = 'aci-connector';
const CLUSTER = 'cluster-1';
const PROVISIONING_TIMEOUT_MS = 900_000;

function nginxPod(
  name: string,
  extra: { restartPolicy?: string; uid?: string; hostPath?: boolean } = {},
): V1Pod {
  return {
    metadata: { name, namespace: 'default', uid: extra.uid ?? `uid-${name}` },
    spec: {
      nodeName: NODE,
      restartPolicy: extra.restartPolicy ?? 'Always',
      containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }],
      ...(extra.hostPath && { volumes: [{ name: 'host', hostPath: { path: '/var/log' } }] }),
    },
    status: { phase: 'Pending' },
  };
}

function ownedGroup(pod: V1Pod, provisioningState: string, view?: 'running' | 'exited'): ContainerGroup {
  const running = { state: 'Running', startTime: new Date('2026-11-25T20:00:00Z') };
  const exited = { state: 'Terminated', exitCode: 0, detailStatus: 'Completed' };
  return {
    name: containerGroupName(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', CLUSTER),
    location: 'westus',
    osType: 'Linux',
    provisioningState,
    tags: {
      [TAGS.podUid]: pod.metadata?.uid ?? '',
      [TAGS.namespace]: pod.metadata?.namespace ?? '',
      [TAGS.podName]: pod.metadata?.name ?? '',
      [TAGS.nodeName]: NODE,
      [TAGS.clusterId]: CLUSTER,
    },
    ipAddress: { type: 'Public', ip: '20.0.0.7', ports: [{ port: 80 }] },
    containers: [
      {
        name: 'nginx',
        image: 'nginx:1.27',
        resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
        ...(view && {
          instanceView: { restartCount: 0, currentState: view === 'running' ? running : exited },
        }),
      },
    ],
  };
}

/** Registries as the controller sees them: answers (or failures) by image, and every question asked. */
class FakeImages implements ImageConfigSource {
  readonly asked: { images: readonly string[]; credentials: string[]; os: string }[] = [];
  readonly answers = new Map<string, ImageConfig | ClassifiedError>();

  resolve(
    images: readonly string[],
    credentials: ReadonlyMap<string, RegistryCredential>,
    os: string,
  ): Promise<Map<string, ImageConfig>> {
    this.asked.push({
      images,
      credentials: [...credentials].map(([server, c]) => `${server}:${c.username}:${c.password}`),
      os,
    });
    const result = new Map<string, ImageConfig>();
    for (const image of images) {
      const answer = this.answers.get(image);
      if (answer instanceof ClassifiedError) return Promise.reject(answer);
      if (answer === undefined) return Promise.reject(new Error(`unexpected image ${image}`));
      result.set(image, answer);
    }
    return Promise.resolve(result);
  }
}

function setup(
  options: {
    createsPerWindow?: number;
    podsSynced?: boolean;
    optedIn?: readonly string[];
    subnet?: { condition: AzureCondition };
    network?: NetworkSettings;
    recreateForToken?: boolean;
    /** The pod watch's subscription; by default the tests enqueue what the watch would deliver (`step`). */
    subscribe?: (listener: (pod: V1Pod) => void) => () => void;
    hooks?: PodHooks;
  } = {},
) {
  const log = new CallLog();
  const groups = new FakeArm(log);
  const cluster = new FakeKube(log);
  const images = new FakeImages();
  const clock = new FakeClock(Date.parse('2026-11-25T20:00:00Z'));
  const controller = new PodController({
    groups,
    pods: cluster,
    images,
    events: cluster,
    cache: {
      synced: options.podsSynced ?? true,
      get: (namespace, name) => cluster.pods.get(`${namespace}/${name}`),
      list: () => [...cluster.pods.values()],
      subscribe: options.subscribe ?? (() => () => undefined),
    },
    namespaces: {
      synced: true,
      optedIn: (namespace) => (options.optedIn ?? ['default']).includes(namespace),
    },
    clock,
    logger: silentLogger(),
    metrics: createConnectorMetrics(createRegistry({ component: 'test', processMetrics: false })),
    settings: {
      region: 'westus',
      nodeName: NODE,
      clusterId: CLUSTER,
      limits: DEFAULT_ACI_LIMITS,
      network: options.network ?? { ...DEFAULT_NETWORK_SETTINGS, exposePortsPublicly: true },
      identity: {
        workloadIdentity: {
          tenantId: 't',
          authorityHost: 'https://login.example/',
          recreateBeforeExpiry: options.recreateForToken ?? false,
        },
        registryIdentity: undefined,
      },
    },
    subnet: options.subnet,
    hooks: options.hooks,
    hostIP: '10.0.0.4',
    pacer: new CreatePacer([{ limit: options.createsPerWindow ?? 100, windowMs: 300_000 }]),
    timing: {
      listIntervalMs: 60_000,
      refreshIntervalMs: 60_000,
      maxReadsPerMinute: 60,
      createGraceMs: 30_000,
      resyncIntervalMs: 600_000,
      backoff: { baseMs: 20, maxMs: 60_000 },
      waitRetryMs: 30_000,
      provisioningTimeoutMs: PROVISIONING_TIMEOUT_MS,
    },
    random: () => 0.5,
  });
  let started = false;
  /** Starts the controller on first use, so each test arranges Azure's state before the first list. */
  const settle = async (): Promise<void> => {
    if (!started) controller.start(new AbortController().signal);
    started = true;
    await controller.triggerSync();
    await controller.idle();
  };
  const step = async (pod: V1Pod): Promise<void> => {
    controller.enqueue(pod);
    await controller.idle();
  };
  return {
    log,
    groups,
    cluster,
    images,
    controller,
    clock,
    settle,
    step,
    /** Moves time on, running the retries and intervals that fall due, then waits for the queue. */
    advance: async (ms: number) => {
      await clock.advance(ms);
      await controller.idle();
    },
  };
}

describe('PodController', () => {
  it('follows the pod watch from its start, and stops following when its signal aborts', async (t) => {
    const listeners = new Set<(pod: V1Pod) => void>();
    const { groups, cluster, controller } = setup({
      subscribe: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    });
    assert.equal(listeners.size, 0, 'nothing is followed before start');
    const stop = new AbortController();
    t.after(() => controller.shutdown());
    controller.start(stop.signal);
    assert.equal(listeners.size, 1);
    await controller.triggerSync();
    const pod = nginxPod('web');
    cluster.add(pod);
    for (const listener of listeners) listener(pod);
    await controller.idle();
    const name = containerGroupName('default', 'web', CLUSTER);
    assert.ok(groups.calls.includes(`create ${name}`), groups.calls.join(', '));
    stop.abort();
    await controller.done;
    assert.equal(listeners.size, 0, 'the subscription ends with the controller');
  });

  it('creates a tagged group for a new pod, then reports it Running with ACI’s IP', async (t) => {
    const { groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    await step(pod);
    const name = containerGroupName('default', 'web', CLUSTER);
    // The name is read once more right before the PUT, which would replace anything of that name.
    assert.deepEqual(groups.calls, ['list', `get ${name}`, `create ${name}`]);
    const created = groups.groups.get(name);
    assert.equal(created?.tags?.[TAGS.podUid], 'uid-web');
    assert.equal(created.tags[TAGS.clusterId], CLUSTER);
    assert.equal(cluster.lastStatus('default/web')?.phase, 'Pending');
    assert.ok(cluster.reasons('default/web').includes('ContainerGroupCreated'));

    groups.groups.set(name, ownedGroup(pod, 'Succeeded', 'running'));
    await settle();
    const status = cluster.lastStatus('default/web');
    assert.equal(status?.phase, 'Running');
    assert.equal(status.podIP, '20.0.0.7');
    assert.equal(status.hostIP, '10.0.0.4');
  });

  it('fails a pod ACI cannot run at once, naming the field, and creates nothing', async (t) => {
    const { groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('logs', { hostPath: true });
    cluster.add(pod);
    await settle();
    await step(pod);
    assert.deepEqual(groups.calls, ['list']);
    const status = cluster.lastStatus('default/logs');
    assert.equal(status?.phase, 'Failed');
    assert.match(status.message ?? '', /spec\.volumes\[0\]\.hostPath/);
  });

  it('adopts the group of a pod after a restart instead of creating a duplicate', async (t) => {
    const { groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    groups.groups.set(containerGroupName('default', 'web', CLUSTER), ownedGroup(pod, 'Succeeded', 'running'));
    await settle();
    await step(pod);
    assert.equal(groups.calls.filter((c) => c.startsWith('create')).length, 0);
    assert.equal(cluster.lastStatus('default/web')?.phase, 'Running');
  });

  it('deletes the group before removing a deleted pod', async (t) => {
    const { log, groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    const name = containerGroupName('default', 'web', CLUSTER);
    groups.groups.set(name, ownedGroup(pod, 'Succeeded', 'running'));
    await settle();
    pod.metadata = { ...pod.metadata, deletionTimestamp: new Date(), deletionGracePeriodSeconds: 30 };
    const before = log.entries.length;
    await step(pod);
    // One log across Azure and Kubernetes: the pod object goes only after its group (no billing leak).
    assert.deepEqual(log.entries.slice(before), [`arm delete ${name}`, 'kube delete default/web']);
    assert.equal(groups.groups.has(name), false);
  });

  it('writes a pod’s status once per change, however often it is reconciled', async (t) => {
    const { log, groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    groups.groups.set(containerGroupName('default', 'web', CLUSTER), ownedGroup(pod, 'Succeeded', 'running'));
    await settle();
    await step(pod);
    assert.deepEqual(
      log.of('kube').filter((e) => e.startsWith('status')),
      ['status default/web Running'],
    );
    for (let i = 0; i < 3; i += 1) await step(pod);
    assert.equal(log.count('kube status'), 1, 'an unchanged status is not written again');
  });

  it('forwards each ACI event once, however often the group is read', async (t) => {
    const { log, groups, cluster, controller, settle, step, advance } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    const name = containerGroupName('default', 'web', CLUSTER);
    const group = ownedGroup(pod, 'Succeeded', 'running');
    const pulled = { name: 'Pulled', message: 'pulled nginx:1.27', type: 'Normal', count: 1 };
    groups.groups.set(name, {
      ...group,
      containers: group.containers.map((c) => ({
        ...c,
        instanceView: { ...c.instanceView, events: [{ ...pulled, firstTimestamp: new Date() }] },
      })),
    });
    await settle();
    await step(pod);
    assert.equal(log.count('kube event default/web Pulled'), 1);
    // The refresh interval passes: the next list reads the group again, with the same event in it.
    await advance(60_000);
    await settle();
    assert.equal(log.count(`arm get ${name}`), 2, 'the group was read again');
    assert.equal(log.count('kube event default/web Pulled'), 1, 'an event already forwarded is not repeated');
  });

  it('retries a create refused for an inaccessible image, as a kubelet retries a pull, never failing the pod', async (t) => {
    const { log, groups, cluster, controller, settle, step, advance } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    groups.failNextCreate = classifyAzureError(
      new RestError("The image 'nginx:1.27' in container group 'default-web' is not accessible", {
        code: 'InaccessibleImage',
        statusCode: 400,
      }),
    );
    await step(pod);
    const status = cluster.lastStatus('default/web');
    assert.equal(status?.phase, 'Pending');
    assert.equal(status.containerStatuses?.[0]?.state?.waiting?.reason, 'ErrImagePull');
    await advance(15);
    const name = containerGroupName('default', 'web', CLUSTER);
    assert.equal(log.count(`arm create ${name}`), 2, 'tried again after the backoff');
    assert.ok(groups.groups.has(name));
  });

  it("runs the pod's preStop hooks before deleting its group, and postStart hooks once it runs", async (t) => {
    const calls: string[] = [];
    const hooks: PodHooks = {
      preStop: (pod, group) => {
        calls.push(`preStop ${pod.metadata?.name ?? ''} ${group}`);
        return Promise.resolve();
      },
      postStart: (pod, group) => {
        calls.push(`postStart ${pod.metadata?.name ?? ''} ${group}`);
      },
      forget: (pod) => {
        calls.push(`forget ${pod.metadata?.name ?? ''}`);
      },
    };
    const { groups, cluster, controller, settle, step } = setup({ hooks });
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    const name = containerGroupName('default', 'web', CLUSTER);
    groups.groups.set(name, ownedGroup(pod, 'Succeeded', 'running'));
    await settle();
    assert.ok(calls.includes(`postStart web ${name}`), 'postStart is offered the running group');
    pod.metadata = { ...pod.metadata, deletionTimestamp: new Date(), deletionGracePeriodSeconds: 30 };
    groups.calls.length = 0;
    const original = groups.remove.bind(groups);
    groups.remove = (group) => {
      calls.push(`delete ${group}`);
      return original(group);
    };
    await step(pod);
    const order = calls.filter((call) => !call.startsWith('postStart'));
    assert.deepEqual(order, [`preStop web ${name}`, `delete ${name}`, 'forget web']);
  });

  it('deletes orphans (owned groups without a pod) and ignores other clusters’ groups', async (t) => {
    const { groups, controller, settle } = setup();
    t.after(() => controller.shutdown());
    const gone = ownedGroup(nginxPod('gone'), 'Succeeded');
    groups.groups.set(gone.name ?? '', gone);
    const foreign = { ...ownedGroup(nginxPod('other'), 'Succeeded'), name: 'default-other' };
    foreign.tags = { ...foreign.tags, [TAGS.clusterId]: 'another-cluster' };
    groups.groups.set('default-other', foreign);
    await settle();
    assert.deepEqual([...groups.groups.keys()], ['default-other']);
  });

  it('deletes nothing while the pod watch has not synced (an empty cache is not "no pods")', async (t) => {
    const { groups, controller, settle } = setup({ podsSynced: false });
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    const name = containerGroupName('default', 'web', CLUSTER);
    groups.groups.set(name, ownedGroup(pod, 'Succeeded', 'running'));
    await settle();
    controller.enqueue(pod);
    await controller.idle();
    assert.ok(groups.groups.has(name));
    assert.equal(groups.calls.filter((c) => c.startsWith('delete')).length, 0);
  });

  it('recreates a group whose provisioning failed, for a pod that restarts', async (t) => {
    const { log, groups, cluster, controller, settle, step, advance } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    const name = containerGroupName('default', 'web', CLUSTER);
    groups.groups.set(name, {
      ...ownedGroup(pod, 'Failed'),
      instanceView: {
        state: 'Pending',
        events: [{ name: 'InsufficientCapacity', message: 'no capacity in westus', type: 'Warning' }],
      },
    });
    await settle();
    await step(pod);
    assert.notEqual(cluster.lastStatus('default/web')?.phase, 'Failed');
    assert.ok(groups.calls.includes(`delete ${name}`));
    assert.equal(log.count(`arm create ${name}`), 0, 'not at once');
    // backoff: base 20 ms, first attempt, jitter 0.5 -> 15 ms.
    await advance(15);
    assert.equal(log.count(`arm create ${name}`), 1, 'created again after the backoff');
  });

  it('retries a throttled create after Retry-After, not sooner, without failing the pod or using up a create slot', async (t) => {
    // One create per window: a refused create must give its slot back, or the retry would be paced.
    const { groups, cluster, controller, settle, step, advance } = setup({ createsPerWindow: 1 });
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    groups.failNextCreate = new ClassifiedError('Throttled', 'too many writes', {
      retryAfterMs: 300,
      statusCode: 429,
    });
    await step(pod);
    assert.notEqual(cluster.lastStatus('default/web')?.phase, 'Failed');
    assert.ok(cluster.reasons('default/web').includes('ACIThrottled'));
    await step(pod);
    assert.equal(groups.groups.size, 0, 'a watch event does not cut the wait short');
    await advance(299);
    assert.equal(groups.groups.size, 0, 'not before Retry-After');
    await advance(1);
    assert.equal(groups.groups.size, 1);
    assert.ok(!cluster.reasons('default/web').includes('CreatePaced'));
  });

  it('says on the pod that Azure credentials are unavailable when no token could be had, and gives the create slot back', async (t) => {
    // One create per window: the create never left (no token), so its slot must come back for the retry.
    const { groups, cluster, controller, settle, step, advance } = setup({ createsPerWindow: 1 });
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    const noAnswer = Object.assign(new Error('network_error: no answer'), {
      name: 'ClientAuthError',
      errorCode: 'network_error',
    });
    groups.failNextCreate = classifyAzureError(
      new AuthenticationRequiredError({ scopes: ['s/.default'], message: noAnswer.message, cause: noAnswer }),
    );
    await step(pod);
    const waiting = cluster.lastStatus('default/web')?.containerStatuses?.[0]?.state?.waiting;
    assert.equal(waiting?.reason, 'AzureCredentialsUnavailable');
    assert.match(waiting.message ?? '', /token endpoint did not answer/);
    assert.ok(cluster.reasons('default/web').includes('AzureCredentialsUnavailable'), 'an event says why');
    // backoff: base 20 ms, first attempt, jitter 0.5 -> 15 ms.
    await advance(15);
    assert.equal(groups.groups.size, 1, 'created once a token came');
    assert.ok(!cluster.reasons('default/web').includes('CreatePaced'), 'the failed create used no slot');
  });

  it('keeps a pod Pending with an event while the ACI quota is used up', async (t) => {
    const { groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    groups.failNextCreate = new ClassifiedError('QuotaExceeded', 'container group quota exceeded', {
      code: 'ContainerGroupQuotaReached',
    });
    await step(pod);
    const status = cluster.lastStatus('default/web');
    assert.equal(status?.phase, 'Pending');
    assert.equal(status.containerStatuses?.[0]?.state?.waiting?.reason, 'ACIQuotaExceeded');
  });

  it('fails the pod when Azure refuses the group as invalid', async (t) => {
    const { groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    groups.failNextCreate = new ClassifiedError('InvalidInput', 'OsVersionNotSupported', { statusCode: 400 });
    await step(pod);
    await controller.idle();
    assert.equal(cluster.lastStatus('default/web')?.phase, 'Failed');
  });

  // A subnet that is missing or not delegated is the operator's to fix: the pod waits, never fails.
  for (const code of ['SubnetMissingRequiredDelegation', 'SubnetNotFound', 'ResourceGroupNotFound']) {
    it(`keeps the pod Pending, not Failed, when Azure refuses the setup (${code})`, async (t) => {
      const { groups, cluster, controller, settle, step } = setup();
      t.after(() => controller.shutdown());
      const pod = nginxPod('web');
      cluster.add(pod);
      await settle();
      groups.failNextCreate = new ClassifiedError('InvalidInput', `refused: ${code}`, {
        statusCode: 400,
        code,
      });
      await step(pod);
      assert.equal(cluster.lastStatus('default/web')?.phase, 'Pending');
      assert.ok(cluster.reasons('default/web').includes('ProviderRetrying'));
    });
  }

  // An identity the connector may not assign, or one that does not exist: a role or the identity fixes it.
  for (const [code, statusCode, kind] of [
    ['LinkedAuthorizationFailed', 403, 'Unauthorized'],
    ['FailedIdentityOperation', 400, 'InvalidInput'],
  ] as const) {
    it(`keeps the pod Pending with an event naming the role to grant when Azure refuses its identity (${code})`, async (t) => {
      const { groups, cluster, controller, settle, step } = setup();
      t.after(() => controller.shutdown());
      const pod = nginxPod('web');
      cluster.add(pod);
      await settle();
      const message = `refused: ${code} on Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`;
      groups.failNextCreate = new ClassifiedError(kind, message, { statusCode, code });
      await step(pod);
      assert.equal(cluster.lastStatus('default/web')?.phase, 'Pending');
      const event = cluster.events.find((e) => e.event.reason === 'ManagedIdentityRefused');
      assert.match(event?.event.message ?? '', /Managed Identity Operator role on each identity/);
    });
  }

  // ACI cannot refresh a mounted token: with the operator's setting, the group is made again in time.
  for (const [name, recreate, restartPolicy, deleted] of [
    [
      'recreates the group of a workload identity pod 10 minutes before its token expires',
      true,
      'Always',
      true,
    ],
    ['leaves the group alone without ACI_WORKLOAD_IDENTITY_RECREATE', false, 'Always', false],
    ['never recreates a pod that must not restart (restartPolicy Never)', true, 'Never', false],
  ] as const) {
    it(name, async (t) => {
      const { groups, cluster, controller, settle, step, advance } = setup({ recreateForToken: recreate });
      t.after(() => controller.shutdown());
      const plain = nginxPod('wi');
      const pod: V1Pod = {
        ...plain,
        metadata: { ...plain.metadata, labels: { 'azure.workload.identity/use': 'true' } },
        spec: { ...plain.spec, containers: plain.spec?.containers ?? [], restartPolicy },
      };
      const group = ownedGroup(pod, 'Succeeded', 'running');
      const expiry = Date.parse('2026-11-25T21:00:00Z');
      group.tags = { ...group.tags, [TAGS.tokenExpiry]: new Date(expiry).toISOString() };
      groups.groups.set(group.name ?? '', group);
      cluster.add(pod);
      await settle();
      await step(pod);
      assert.ok(!groups.calls.some((call) => call.startsWith('delete')), 'not 11 minutes before');
      await advance(expiry - Date.parse('2026-11-25T20:00:00Z') - 10 * 60_000);
      await step(pod);
      assert.equal(groups.calls.includes(`delete ${group.name ?? ''}`), deleted, groups.calls.join(', '));
      assert.equal(cluster.reasons('default/wi').includes('WorkloadIdentityTokenRefresh'), deleted);
    });
  }

  it('creates nothing while the subnet cannot be used, and keeps the pod Pending with the reason', async (t) => {
    const subnet = {
      condition: { ok: false, reason: 'SubnetNotDelegated', message: "subnet 'aci' is not delegated" },
    } as const;
    const { groups, cluster, controller, settle, step } = setup({ subnet });
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    await step(pod);
    assert.deepEqual(groups.calls, ['list']);
    const status = cluster.lastStatus('default/web');
    assert.equal(status?.phase, 'Pending');
    assert.equal(status.containerStatuses?.[0]?.state?.waiting?.reason, 'SubnetNotReady');
    const event = cluster.events.find((e) => e.event.reason === 'SubnetNotReady');
    assert.match(event?.event.message ?? '', /not delegated/);
  });

  it('records what the network settings chose as pod events when it creates the group', async (t) => {
    const { cluster, controller, settle, step } = setup({ network: DEFAULT_NETWORK_SETTINGS });
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    await step(pod);
    assert.deepEqual(cluster.reasons('default/web'), ['ContainerGroupCreated', 'NoIPAddress']);
  });

  it('paces creates and tells the waiting pod why', async (t) => {
    const { groups, cluster, controller, settle, step } = setup({ createsPerWindow: 1 });
    t.after(() => controller.shutdown());
    const first = nginxPod('a');
    const second = nginxPod('b');
    cluster.add(first);
    cluster.add(second);
    await settle();
    await step(first);
    await step(second);
    assert.equal(groups.groups.size, 1);
    assert.ok(
      !groups.calls.includes(`get ${containerGroupName('default', 'b', CLUSTER)}`),
      'a pod waiting for its turn costs no ARM read',
    );
    const waiting = cluster.lastStatus('default/b')?.containerStatuses?.[0]?.state?.waiting;
    assert.equal(waiting?.reason, 'CreatePaced');
    // The window is 5 minutes from the first create (plus nothing: this pacer has no margin).
    assert.match(
      waiting.message ?? '',
      /\(1 per 5 minutes\): 0 pods ahead, created at about 2026-11-25T20:05:00\.000Z \(in 300s\)/,
    );
  });

  const vanished: { restartPolicy: string; expectCreate: boolean; phase: string }[] = [
    { restartPolicy: 'Always', expectCreate: true, phase: 'Pending' },
    { restartPolicy: 'Never', expectCreate: false, phase: 'Failed' },
  ];
  for (const c of vanished) {
    it(`a group deleted outside Kubernetes under restartPolicy ${c.restartPolicy}`, async (t) => {
      const { groups, cluster, controller, settle, step, advance } = setup();
      t.after(() => controller.shutdown());
      const pod = nginxPod('web', { restartPolicy: c.restartPolicy });
      cluster.add(pod);
      const name = containerGroupName('default', 'web', CLUSTER);
      groups.groups.set(name, ownedGroup(pod, 'Succeeded', 'running'));
      await settle();
      await step(pod);
      assert.equal(cluster.lastStatus('default/web')?.phase, 'Running');
      groups.groups.delete(name);
      await advance(60_000);
      await settle();
      assert.equal(groups.groups.has(name), c.expectCreate);
      assert.equal(cluster.lastStatus('default/web')?.phase, c.phase);
    });
  }

  it('deletes a group stuck provisioning past the timeout, says why on the pod, and creates it again', async (t) => {
    const { groups, cluster, controller, settle, step, advance } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    await step(pod);
    const name = containerGroupName('default', 'web', CLUSTER);
    groups.groups.set(name, ownedGroup(pod, 'Creating'));
    // A resync (or a list that changed) reconciles the pod; step stands for it at each moment.
    await advance(PROVISIONING_TIMEOUT_MS - 1000);
    await step(pod);
    assert.equal(groups.calls.filter((c) => c === `delete ${name}`).length, 0, 'not before the timeout');
    await advance(60_000);
    await step(pod);
    assert.equal(
      groups.calls.filter((c) => c === `delete ${name}`).length,
      1,
      groups.calls.slice(0, 12).join(', '),
    );
    const why = cluster.events.find((e) => e.event.reason === 'ProviderRetrying');
    assert.match(why?.event.message ?? '', /did not finish provisioning it in \d+s \(still Creating\)/);
    assert.notEqual(cluster.lastStatus('default/web')?.phase, 'Failed');
    const recreated = async (): Promise<boolean> => {
      // The next create follows the retry backoff: up to 5 minutes of fake time, a second at a time.
      for (let i = 0; i < 300 && groups.calls.filter((c) => c === `create ${name}`).length < 2; i++)
        await advance(1000);
      return groups.calls.filter((c) => c === `create ${name}`).length === 2;
    };
    assert.ok(await recreated(), groups.calls.join(', '));
  });

  const stopped = [
    { restartPolicy: 'Always', recreated: true, phase: 'Pending' },
    { restartPolicy: 'OnFailure', recreated: true, phase: 'Pending' },
    { restartPolicy: 'Never', recreated: false, phase: 'Failed' },
  ];
  for (const c of stopped) {
    it(`a group stopped outside Kubernetes under restartPolicy ${c.restartPolicy}`, async (t) => {
      const { groups, cluster, controller, settle, step, advance } = setup();
      t.after(() => controller.shutdown());
      const pod = nginxPod('web', { restartPolicy: c.restartPolicy });
      cluster.add(pod);
      const name = containerGroupName('default', 'web', CLUSTER);
      groups.groups.set(name, ownedGroup(pod, 'Succeeded', 'running'));
      await settle();
      await step(pod);
      const killed = ownedGroup(pod, 'Succeeded', 'exited');
      const killedContainers = killed.containers.map((container) => ({
        ...container,
        instanceView: {
          restartCount: 0,
          currentState: { state: 'Terminated', exitCode: 137, detailStatus: 'Killed' },
        },
      }));
      groups.groups.set(name, {
        ...killed,
        containers: killedContainers,
        instanceView: { state: 'Stopped' },
      });
      await advance(60_000);
      await settle();
      assert.equal(groups.calls.includes(`delete ${name}`), c.recreated);
      assert.equal(cluster.lastStatus('default/web')?.phase, c.phase);
    });
  }

  it('leaves a completed Job pod alone when its group is gone', async (t) => {
    const { groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('job', { restartPolicy: 'Never' });
    pod.status = { phase: 'Succeeded' };
    cluster.add(pod);
    await settle();
    await step(pod);
    assert.equal(groups.calls.filter((c) => c.startsWith('create')).length, 0);
  });

  describe('images whose configuration the pod needs', () => {
    const BUSYBOX = 'registry.example/busybox:1.36';
    const HOST_PATH_REFUSAL =
      'spec.volumes[0].hostPath: volume "host" mounts a path of the host, and an ACI container group has no host to share; use an emptyDir, configMap, secret or azureFile volume instead';
    function argsPod(name: string, extra: { hostPath?: boolean } = {}): V1Pod {
      const pod = nginxPod(name, extra);
      pod.spec = {
        ...pod.spec,
        containers: [{ name: 'busy', image: BUSYBOX, args: ['sleep', '3600'] }],
        imagePullSecrets: [{ name: 'pull' }],
      };
      return pod;
    }
    const pullSecret: V1Secret = {
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': Buffer.from(
          JSON.stringify({ auths: { 'registry.example': { username: 'u', password: 'p' } } }),
        ).toString('base64'),
      },
    };

    it("runs args without command as the image's entrypoint and the args, read with the pull secret", async (t) => {
      const { groups, cluster, images, controller, settle, step } = setup();
      t.after(() => controller.shutdown());
      cluster.secrets.set('pull', pullSecret);
      images.answers.set(BUSYBOX, { entrypoint: ['/bin/tini', '--'], cmd: ['sh'], workingDir: '' });
      const pod = argsPod('busy');
      cluster.add(pod);
      cluster.add(nginxPod('web'));
      await settle();
      await step(pod);
      await step(nginxPod('web'));
      assert.deepEqual(images.asked, [
        { images: [BUSYBOX], credentials: ['registry.example:u:p'], os: 'linux' },
      ]);
      const created = groups.groups.get(containerGroupName('default', 'busy', CLUSTER));
      assert.deepEqual(created?.containers[0]?.command, ['/bin/tini', '--', 'sleep', '3600']);
      assert.ok(
        groups.groups.has(containerGroupName('default', 'web', CLUSTER)),
        'the nginx pod asked no registry',
      );
    });

    it('shows ErrImagePull, then ImagePullBackOff, when the registry says no, and creates nothing', async (t) => {
      const { groups, cluster, images, controller, settle, step, advance } = setup();
      t.after(() => controller.shutdown());
      images.answers.set(
        BUSYBOX,
        new ClassifiedError(
          'ImagePullFailed',
          `image "${BUSYBOX}": the registry has no manifest for tag "1.36"`,
          {
            statusCode: 404,
          },
        ),
      );
      const pod = argsPod('busy');
      cluster.add(pod);
      await settle();
      await step(pod);
      const waiting = (): string | undefined =>
        cluster.lastStatus('default/busy')?.containerStatuses?.[0]?.state?.waiting?.reason;
      assert.equal(waiting(), 'ErrImagePull');
      assert.match(
        cluster.lastStatus('default/busy')?.containerStatuses?.[0]?.state?.waiting?.message ?? '',
        /no manifest for tag "1\.36"/,
      );
      await advance(15);
      assert.equal(waiting(), 'ImagePullBackOff');
      assert.equal(cluster.lastStatus('default/busy')?.phase, 'Pending');
      assert.equal(groups.calls.filter((c) => c.startsWith('create')).length, 0);
    });

    it('keeps the pod Pending with RegistryUnavailable while the registry does not answer, then runs it', async (t) => {
      const { groups, cluster, images, controller, settle, step, advance } = setup();
      t.after(() => controller.shutdown());
      images.answers.set(
        BUSYBOX,
        new ClassifiedError('Transient', `image "${BUSYBOX}": registry registry.example is unavailable`, {
          code: REGISTRY_UNAVAILABLE,
        }),
      );
      const pod = argsPod('busy');
      cluster.add(pod);
      await settle();
      await step(pod);
      const status = cluster.lastStatus('default/busy');
      assert.equal(status?.phase, 'Pending');
      assert.equal(status.containerStatuses?.[0]?.state?.waiting?.reason, 'RegistryUnavailable');
      assert.ok(cluster.reasons('default/busy').includes('RegistryUnavailable'));
      images.answers.set(BUSYBOX, { entrypoint: [], cmd: ['sh'], workingDir: '' });
      const name = containerGroupName('default', 'busy', CLUSTER);
      await advance(15);
      assert.deepEqual(groups.groups.get(name)?.containers[0]?.command, ['sleep', '3600']);
    });

    it('fails a pod ACI cannot run without asking any registry', async (t) => {
      const { cluster, images, controller, settle, step } = setup();
      t.after(() => controller.shutdown());
      const pod = argsPod('logs', { hostPath: true });
      cluster.add(pod);
      await settle();
      await step(pod);
      const status = cluster.lastStatus('default/logs');
      assert.equal(status?.phase, 'Failed');
      assert.equal(status.message, `ACI cannot run this pod:\n${HOST_PATH_REFUSAL}`, 'the refusal alone');
      assert.deepEqual(images.asked, []);
    });
  });

  describe('ownership: only groups tagged as this cluster’s, this node’s and this pod’s', () => {
    /** A group named as this cluster would name the pod's, but tagged as another cluster's. */
    function squatter(pod: V1Pod): ContainerGroup {
      const group = ownedGroup(pod, 'Succeeded', 'running');
      return {
        ...group,
        tags: { ...group.tags, [TAGS.clusterId]: 'cluster-2', [TAGS.podUid]: 'uid-theirs' },
      };
    }

    // Seen in the last list, or appeared after it (only the read right before the PUT sees it).
    for (const appears of ['before the last list', 'after the last list'] as const) {
      it(`never creates over another cluster’s group of the same name that appeared ${appears}: the pod waits with an event`, async (t) => {
        const { groups, cluster, controller, settle, step } = setup();
        t.after(() => controller.shutdown());
        const pod = nginxPod('web');
        cluster.add(pod);
        const name = containerGroupName('default', 'web', CLUSTER);
        if (appears === 'before the last list') groups.groups.set(name, squatter(pod));
        await settle();
        if (appears === 'after the last list') groups.groups.set(name, squatter(pod));
        await step(pod);
        assert.deepEqual(
          groups.calls.filter((c) => c.startsWith('create')),
          [],
        );
        assert.equal(groups.groups.get(name)?.tags?.[TAGS.clusterId], 'cluster-2', 'left as it was');
        const status = cluster.lastStatus('default/web');
        assert.equal(status?.phase, 'Pending');
        assert.equal(status.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainerGroupNameConflict');
        assert.match(
          cluster.events.find((e) => e.event.reason === 'ContainerGroupNameConflict')?.event.message ?? '',
          new RegExp(`${name} .*belongs to cluster cluster-2, node ${NODE}, pod default/web`),
        );
        assert.equal(controller.ownedGroupFor(pod), undefined, 'so its logs are never read');
      });
    }

    it('never deletes another cluster’s group when the pod of that name is deleted', async (t) => {
      const { groups, cluster, controller, settle, step } = setup();
      t.after(() => controller.shutdown());
      const pod = nginxPod('web');
      cluster.add(pod);
      const name = containerGroupName('default', 'web', CLUSTER);
      groups.groups.set(name, squatter(pod));
      await settle();
      pod.metadata = { ...pod.metadata, deletionTimestamp: new Date() };
      await step(pod);
      assert.deepEqual(cluster.deleted, ['default/web'], 'the pod object goes');
      assert.ok(groups.groups.has(name), 'the other cluster’s group stays');
      assert.deepEqual(
        groups.calls.filter((c) => c.startsWith('delete')),
        [],
      );
    });

    it('never deletes a group of this cluster tagged with another node', async (t) => {
      const { groups, controller, settle } = setup();
      t.after(() => controller.shutdown());
      const group = ownedGroup(nginxPod('elsewhere'), 'Succeeded');
      group.tags = { ...group.tags, [TAGS.nodeName]: 'aci-connector-2' };
      groups.groups.set(group.name ?? '', group);
      await settle();
      assert.equal(groups.groups.size, 1);
    });

    it('adopts a group named by an earlier naming rule, found by its tags (migration)', async (t) => {
      const { groups, cluster, controller, settle, step } = setup();
      t.after(() => controller.shutdown());
      const pod = nginxPod('web');
      cluster.add(pod);
      groups.groups.set('default-web', { ...ownedGroup(pod, 'Succeeded', 'running'), name: 'default-web' });
      await settle();
      await step(pod);
      assert.deepEqual(
        groups.calls.filter((c) => c.startsWith('create')),
        [],
      );
      assert.equal(cluster.lastStatus('default/web')?.phase, 'Running');
      assert.equal(controller.ownedGroupFor(pod), 'default-web');
      assert.equal(
        controller.ownedGroupFor({ ...pod, metadata: { ...pod.metadata, uid: 'uid-new' } }),
        undefined,
      );
    });
  });

  it('never runs a pod of a namespace that did not opt in: Pending with an event, nothing read or created', async (t) => {
    const { groups, cluster, controller, settle, step } = setup({ optedIn: [] });
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    await step(pod);
    assert.deepEqual(groups.calls, ['list']);
    assert.deepEqual(cluster.referenceReads, [], 'its Secrets are not even read');
    const status = cluster.lastStatus('default/web');
    assert.equal(status?.phase, 'Pending');
    assert.equal(status.containerStatuses?.[0]?.state?.waiting?.reason, 'NamespaceNotOptedIn');
    assert.match(
      cluster.events.find((e) => e.event.reason === 'NamespaceNotOptedIn')?.event.message ?? '',
      /namespace default has not opted in to bursting \(label azure\.com\/aci-burst=enabled/,
    );
  });
});
