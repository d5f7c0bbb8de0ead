import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Pod, V1PodStatus, V1Secret } from '@kubernetes/client-node';
import {
  containerGroupName,
  DEFAULT_ACI_LIMITS,
  DEFAULT_NETWORK_SETTINGS,
  type ImageConfig,
  type NetworkSettings,
  type ReferencedObjects,
  TAGS,
} from '../contract/index.ts';
import type { AzureCondition } from './health.ts';
import { ClassifiedError } from '../runtime/errors.ts';
import { silentLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { createConnectorMetrics } from './metrics.ts';
import { CreatePacer } from './pacing.ts';
import { PodController } from './pod-controller.ts';
import type { ContainerGroupApi, ImageConfigSource, PodApi, PodEvent } from './ports.ts';
import type { RegistryCredential } from './registry/client.ts';
import { REGISTRY_UNAVAILABLE } from './registry/resolver.ts';

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

/** An in-memory resource group with the ARM semantics the controller relies on. */
class FakeGroups implements ContainerGroupApi {
  readonly groups = new Map<string, ContainerGroup>();
  readonly calls: string[] = [];
  failNextCreate: ClassifiedError | undefined;

  list(): Promise<ContainerGroup[]> {
    this.calls.push('list');
    // Lists carry no instance views.
    return Promise.resolve(
      [...this.groups.values()].map((g) => ({
        ...g,
        containers: g.containers.map(({ instanceView: _, ...c }) => c),
      })),
    );
  }
  get(name: string): Promise<ContainerGroup | undefined> {
    this.calls.push(`get ${name}`);
    return Promise.resolve(this.groups.get(name));
  }
  create(name: string, group: ContainerGroup): Promise<void> {
    this.calls.push(`create ${name}`);
    const failure = this.failNextCreate;
    this.failNextCreate = undefined;
    if (failure) return Promise.reject(failure);
    this.groups.set(name, { ...group, name, provisioningState: 'Pending' });
    return Promise.resolve();
  }
  remove(name: string): Promise<void> {
    this.calls.push(`delete ${name}`);
    this.groups.delete(name);
    return Promise.resolve();
  }
}

class FakeCluster implements PodApi {
  readonly pods = new Map<string, V1Pod>();
  readonly referenceReads: string[] = [];
  readonly statuses: { pod: string; status: V1PodStatus }[] = [];
  readonly deleted: string[] = [];
  readonly events: { pod: string; event: PodEvent }[] = [];

  add(pod: V1Pod): void {
    this.pods.set(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, pod);
  }
  updateStatus(pod: V1Pod, status: V1PodStatus): Promise<void> {
    const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    this.statuses.push({ pod: key, status });
    const stored = this.pods.get(key);
    if (stored) stored.status = status;
    return Promise.resolve();
  }
  forceDelete(pod: V1Pod): Promise<void> {
    const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    this.deleted.push(key);
    this.pods.delete(key);
    return Promise.resolve();
  }
  secrets = new Map<string, V1Secret>();
  fetchReferences(pod: V1Pod): Promise<ReferencedObjects> {
    this.referenceReads.push(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`);
    return Promise.resolve({ configMaps: new Map(), secrets: this.secrets, serviceAccount: undefined });
  }
  lastStatus(key: string): V1PodStatus | undefined {
    return this.statuses.filter((s) => s.pod === key).at(-1)?.status;
  }
  reasons(key: string): string[] {
    return this.events.filter((e) => e.pod === key).map((e) => e.event.reason);
  }
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
  } = {},
) {
  const groups = new FakeGroups();
  const cluster = new FakeCluster();
  const images = new FakeImages();
  let now = Date.parse('2026-11-25T20:00:00Z');
  const controller = new PodController({
    groups,
    pods: cluster,
    images,
    events: {
      record: (pod, event) =>
        cluster.events.push({ pod: `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, event }),
    },
    cache: {
      synced: options.podsSynced ?? true,
      get: (namespace, name) => cluster.pods.get(`${namespace}/${name}`),
      list: () => [...cluster.pods.values()],
    },
    namespaces: {
      synced: true,
      optedIn: (namespace) => (options.optedIn ?? ['default']).includes(namespace),
    },
    clock: { now: () => now },
    logger: silentLogger(),
    metrics: createConnectorMetrics(createRegistry({ component: 'test', processMetrics: false })),
    settings: {
      region: 'westus',
      nodeName: NODE,
      clusterId: CLUSTER,
      limits: DEFAULT_ACI_LIMITS,
      network: options.network ?? { ...DEFAULT_NETWORK_SETTINGS, exposePortsPublicly: true },
    },
    subnet: options.subnet,
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
    if (!started) controller.start();
    started = true;
    await controller.triggerSync();
    await controller.idle();
  };
  const step = async (pod: V1Pod): Promise<void> => {
    controller.enqueue(pod);
    await controller.idle();
  };
  return {
    groups,
    cluster,
    images,
    controller,
    settle,
    step,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('PodController', () => {
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
    const { groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    const name = containerGroupName('default', 'web', CLUSTER);
    groups.groups.set(name, ownedGroup(pod, 'Succeeded', 'running'));
    await settle();
    pod.metadata = { ...pod.metadata, deletionTimestamp: new Date(), deletionGracePeriodSeconds: 30 };
    await step(pod);
    assert.equal(groups.groups.has(name), false);
    assert.deepEqual(cluster.deleted, ['default/web']);
    assert.ok(groups.calls.indexOf(`delete ${name}`) >= 0);
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
    const { groups, cluster, controller, settle, step } = setup();
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
    const retried = (): boolean => groups.calls.includes(`create ${name}`);
    const deadline = Date.now() + 5000;
    while (!retried() && Date.now() < deadline) await sleep(20);
    assert.ok(retried(), 'created again after the backoff');
  });

  it('retries a throttled create after Retry-After, not sooner, without failing the pod', async (t) => {
    const { groups, cluster, controller, settle, step } = setup();
    t.after(() => controller.shutdown());
    const pod = nginxPod('web');
    cluster.add(pod);
    await settle();
    groups.failNextCreate = new ClassifiedError('Throttled', 'too many writes', {
      retryAfterMs: 300,
      statusCode: 429,
    });
    const throttledAt = Date.now();
    await step(pod);
    assert.notEqual(cluster.lastStatus('default/web')?.phase, 'Failed');
    assert.ok(cluster.reasons('default/web').includes('ACIThrottled'));
    await step(pod);
    assert.equal(groups.groups.size, 0, 'a watch event does not cut the wait short');
    const created = (): boolean => groups.groups.size > 0;
    while (!created() && Date.now() - throttledAt < 5000) await sleep(20);
    assert.equal(groups.groups.size, 1);
    assert.ok(Date.now() - throttledAt >= 300, 'not before Retry-After');
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
    assert.equal(
      cluster.lastStatus('default/b')?.containerStatuses?.[0]?.state?.waiting?.reason,
      'CreatePaced',
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
      advance(60_000);
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
    advance(PROVISIONING_TIMEOUT_MS - 1000);
    await settle();
    assert.equal(groups.calls.filter((c) => c === `delete ${name}`).length, 0, 'not before the timeout');
    advance(60_000);
    await settle();
    assert.equal(groups.calls.filter((c) => c === `delete ${name}`).length, 1);
    const why = cluster.events.find((e) => e.event.reason === 'ProviderRetrying');
    assert.match(why?.event.message ?? '', /did not finish provisioning it in \d+s \(still Creating\)/);
    assert.notEqual(cluster.lastStatus('default/web')?.phase, 'Failed');
    const recreated = async (): Promise<boolean> => {
      for (let i = 0; i < 250 && groups.calls.filter((c) => c === `create ${name}`).length < 2; i++)
        await sleep(20);
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
      advance(60_000);
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
      const { groups, cluster, images, controller, settle, step } = setup();
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
      const deadline = Date.now() + 5000;
      while (waiting() !== 'ImagePullBackOff' && Date.now() < deadline) await sleep(20);
      assert.equal(waiting(), 'ImagePullBackOff');
      assert.equal(cluster.lastStatus('default/busy')?.phase, 'Pending');
      assert.equal(groups.calls.filter((c) => c.startsWith('create')).length, 0);
    });

    it('keeps the pod Pending with RegistryUnavailable while the registry does not answer, then runs it', async (t) => {
      const { groups, cluster, images, controller, settle, step } = setup();
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
      const deadline = Date.now() + 5000;
      while (!groups.groups.has(name) && Date.now() < deadline) await sleep(20);
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
