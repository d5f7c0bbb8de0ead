// Images as a kubelet sees them, end to end: `kubectl run --image=... -- <args>` on the virtual node,
// the real connector process reading the image's configuration from the emulator's loopback OCI
// registry (Docker Hub's images through a docker.io mirror on it: tests never reach Docker Hub), and
// the ACI emulator receiving the image's entrypoint followed by the args.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  ACI_TAINT_KEY,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  containerGroupName,
} from '../../contract/index.ts';
import type { RequestLogEntry } from '../emulator/request-log.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const run = promisify(execFile);
const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const clusterId = (await core.readNamespace({ name: 'kube-system' })).metadata?.uid ?? '';
const nodeName = `aci-images-${randomBytes(3).toString('hex')}`;

/** The wire shape of a PUT body, as far as these tests read it. */
interface SentGroup {
  properties: {
    containers: { properties: { image: string; command?: string[] } }[];
    imageRegistryCredentials?: { server: string; username: string }[];
  };
}

describe('images as a kubelet sees them', () => {
  let emulator: RunningEmulator;
  let connector: RunningConnector;
  let namespace: string;

  const kubectl = async (...args: string[]): Promise<string> =>
    (await run(cluster.kubectlPath, ['--kubeconfig', cluster.kubeconfigPath, '-n', namespace, ...args]))
      .stdout;

  /** `kubectl run` as a user types it, placed on the virtual node (no scheduler in the way). */
  const kubectlRun = (name: string, image: string, args: string[], overrides: object = {}): Promise<string> =>
    kubectl(
      'run',
      name,
      `--image=${image}`,
      `--overrides=${JSON.stringify({
        apiVersion: 'v1',
        spec: {
          nodeName,
          tolerations: [{ key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
          ...overrides,
        },
      })}`,
      '--',
      ...args,
    );

  const readPod = (name: string): Promise<V1Pod> => core.readNamespacedPod({ name, namespace });

  const waitRunning = (name: string): Promise<V1Pod> =>
    eventually(
      `${name} to be Running`,
      async () => {
        const pod = await readPod(name);
        return pod.status?.phase === 'Running' ? pod : undefined;
      },
      60_000,
    );

  /** The PUT the connector sent for the pod's group, or undefined when it sent none. */
  const sentGroup = async (name: string): Promise<SentGroup | undefined> => {
    const group = containerGroupName(namespace, name, clusterId);
    const put = (await emulator.control.requests()).find(
      (r: RequestLogEntry) => r.method === 'PUT' && r.path.endsWith(`/containerGroups/${group}`),
    );
    return put?.body as SentGroup | undefined;
  };

  const sentCommand = async (name: string): Promise<string[] | undefined> =>
    (await sentGroup(name))?.properties.containers[0]?.properties.command;

  /** The container's waiting reason and message once it is one of `reasons`. */
  const waitingWith = (name: string, reasons: string[]): Promise<{ reason: string; message: string }> =>
    eventually(`${name} to wait with ${reasons.join(' or ')}`, async () => {
      const pod = await readPod(name);
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
      return pod.status?.phase === 'Pending' && reasons.includes(waiting?.reason ?? '')
        ? { reason: waiting?.reason ?? '', message: waiting?.message ?? '' }
        : undefined;
    });

  before(async () => {
    emulator = await startEmulator();
    const caFile = join(mkdtempSync(join(tmpdir(), 'aci-images-')), 'registry-ca.pem');
    writeFileSync(caFile, emulator.caPem);
    connector = await startConnector({
      cluster,
      emulator,
      nodeName,
      env: {
        NODE_STATUS_INTERVAL_SECONDS: '2',
        ACI_WAIT_RETRY_SECONDS: '2',
        REGISTRY_CA_FILE: caFile,
        REGISTRY_MIRRORS: `docker.io=${emulator.registry.url}`,
        REGISTRY_TIMEOUT_SECONDS: '3',
      },
    });
    namespace = await cluster.createNamespace('images', { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED });
  });

  after(async () => {
    await connector.stop();
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
    await emulator.close();
  });

  it('runs `kubectl run busy --image=busybox -- sleep 3600`: args alone, busybox has no entrypoint', async () => {
    emulator.registry.clearRequests();
    await kubectlRun('busy', 'busybox', ['sleep', '3600']);
    await waitRunning('busy');
    assert.deepEqual(await sentCommand('busy'), ['sleep', '3600']);
    const read = emulator.registry.requests().map((request) => request.path);
    assert.ok(read.includes('/v2/library/busybox/manifests/latest'), 'read through the docker.io mirror');
  });

  it("runs args after the image's entrypoint", async () => {
    await kubectlRun('single', emulator.registry.images.single, ['--verbose', '--port=9000']);
    await waitRunning('single');
    assert.deepEqual(await sentCommand('single'), ['/app/server', '--verbose', '--port=9000']);
  });

  it('resolves a multi-arch index to linux/amd64', async () => {
    await kubectlRun('multi', emulator.registry.images.multiarch, ['--serve']);
    await waitRunning('multi');
    assert.deepEqual(await sentCommand('multi'), ['/bin/serve-amd64', '--serve']);
  });

  it('asks no registry for a pod that needs nothing from its image', async () => {
    emulator.registry.clearRequests();
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'plain' },
        spec: {
          nodeName,
          tolerations: [{ key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'nginx', image: 'nginx' }],
        },
      },
    });
    await waitRunning('plain');
    assert.equal(await sentCommand('plain'), undefined, "ACI runs the image's own entrypoint");
    assert.deepEqual(emulator.registry.requests(), []);
  });

  it('reads a private image with its pull secret, and gives ErrImagePull without it, before any ACI call', async () => {
    const { registry } = emulator;
    await kubectl(
      'create',
      'secret',
      'docker-registry',
      'pull',
      `--docker-server=${registry.host}`,
      `--docker-username=${registry.username}`,
      `--docker-password=${registry.password}`,
    );
    await kubectlRun('private', registry.images.private, ['--port=1'], {
      imagePullSecrets: [{ name: 'pull' }],
    });
    await waitRunning('private');
    const sent = await sentGroup('private');
    assert.ok(sent, 'the group was created');
    assert.deepEqual(sent.properties.containers[0]?.properties.command, ['/app/private', '--port=1']);
    assert.deepEqual(
      sent.properties.imageRegistryCredentials?.map(({ server, username }) => ({ server, username })),
      [{ server: registry.host, username: registry.username }],
    );

    await kubectlRun('no-secret', registry.images.private, ['--port=1']);
    const { message } = await waitingWith('no-secret', ['ErrImagePull', 'ImagePullBackOff']);
    assert.match(message, /requires authentication and the pod has no pull secret/);
    assert.equal(await sentGroup('no-secret'), undefined, 'ACI was never asked');
  });

  it('gives ErrImagePull naming a missing tag', async () => {
    await kubectlRun('missing-tag', `${emulator.registry.host}/fixtures/single:9.9`, ['x']);
    const { message } = await waitingWith('missing-tag', ['ErrImagePull', 'ImagePullBackOff']);
    assert.match(message, /no manifest for tag "9\.9"/);
    const events = await core.listNamespacedEvent({
      namespace,
      fieldSelector: 'involvedObject.name=missing-tag',
    });
    assert.ok(events.items.some((event) => event.reason === 'ErrImagePull'));
    assert.equal(await sentGroup('missing-tag'), undefined);
  });

  it('keeps a pod Pending with an event while the registry is down, and runs it once it returns', async () => {
    const { registry } = emulator;
    await registry.stop();
    try {
      await kubectlRun('outage', registry.images.onlyCmd, ['--once']);
      const { message } = await waitingWith('outage', ['RegistryUnavailable']);
      assert.match(message, /is unavailable|has not answered/);
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=outage',
      });
      assert.ok(events.items.some((event) => event.reason === 'RegistryUnavailable'));
      assert.equal(await sentGroup('outage'), undefined);
    } finally {
      await registry.start();
    }
    await waitRunning('outage');
    assert.deepEqual(await sentCommand('outage'), ['--once'], 'args alone: the image has only Cmd');
  });
});
