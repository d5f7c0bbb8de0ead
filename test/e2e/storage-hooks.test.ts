// Azure Files claims and lifecycle hooks end to end: real PersistentVolumes and claims bound by the
// real kube-controller-manager, the real connector process reading them as its node (system:node:<node>,
// through the Node authorizer), and the ACI emulator checking the share against its storage fixtures.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  type V1Lifecycle,
  type V1PersistentVolumeSpec,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  ACI_TOLERATION,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  checkPod,
  containerGroupName,
  podReferences,
} from '../../contract/index.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { kubernetesReferenceReader } from '../../runtime/references.ts';
import { WebhookServer } from '../../webhook/server.ts';
import type { RequestLogEntry } from '../emulator/request-log.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const clusterId = (await core.readNamespace({ name: 'kube-system' })).metadata?.uid ?? '';
const suffix = randomBytes(3).toString('hex');
const nodeName = `aci-storage-${suffix}`;
const ACCOUNT = { name: 'shopfiles', key: 'c2hvcGZpbGVzLWtleQ==', shares: ['uploads'] };

/** The wire shape of a PUT body, as far as these tests read it. */
interface SentGroup {
  properties: {
    volumes?: { name: string; azureFile?: Record<string, unknown> }[];
    containers: { properties: { volumeMounts?: { name: string; readOnly?: boolean }[] } }[];
  };
}

describe('Azure Files claims and lifecycle hooks', () => {
  let emulator: RunningEmulator;
  let connector: RunningConnector;
  let namespace: string;
  const volumes: string[] = [];

  const claimPod = (name: string, claimName: string, labels: Record<string, string> = {}): V1Pod => ({
    metadata: { name, labels },
    spec: {
      nodeName,
      tolerations: [ACI_TOLERATION],
      containers: [{ name: 'app', image: 'nginx', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
  });

  /** A PersistentVolume reserved for `claim` (claimRef), so the binder pairs exactly these two. */
  const createVolume = async (name: string, claim: string, source: V1PersistentVolumeSpec): Promise<void> => {
    volumes.push(name);
    await core.createPersistentVolume({
      body: {
        metadata: { name },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteMany'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: '',
          claimRef: { namespace, name: claim },
          ...source,
        },
      },
    });
  };
  const azureFilesVolume = (share: string): V1PersistentVolumeSpec => ({
    csi: {
      driver: 'file.csi.azure.com',
      volumeHandle: `storage-rg#${ACCOUNT.name}#${share}#${suffix}`,
      volumeAttributes: { shareName: share },
      nodeStageSecretRef: { name: 'azure-storage', namespace },
    },
  });

  const createClaim = (name: string, volumeName?: string): Promise<unknown> =>
    core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name },
        spec: {
          accessModes: ['ReadWriteMany'],
          storageClassName: '',
          resources: { requests: { storage: '1Gi' } },
          ...(volumeName && { volumeName }),
        },
      },
    });

  const waitBound = (claim: string): Promise<unknown> =>
    eventually(`claim ${claim} to be Bound`, async () => {
      const read = await core.readNamespacedPersistentVolumeClaim({ namespace, name: claim });
      return read.status?.phase === 'Bound' ? read : undefined;
    });

  const requests = async (): Promise<RequestLogEntry[]> => emulator.control.requests();
  const groupPath = (pod: string): string =>
    `/containerGroups/${containerGroupName(namespace, pod, clusterId)}`;
  const sentGroup = async (pod: string): Promise<SentGroup | undefined> =>
    (await requests()).find((r) => r.method === 'PUT' && r.path.endsWith(groupPath(pod)))?.body as
      SentGroup | undefined;

  const podEvents = async (pod: string): Promise<{ reason: string; message: string }[]> =>
    (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${pod}` })).items.map(
      (event) => ({ reason: event.reason ?? '', message: event.message ?? '' }),
    );
  const waitEvent = (pod: string, reason: string, message: RegExp): Promise<{ message: string }> =>
    eventually(`${pod} to have a ${reason} event matching ${String(message)}`, async () =>
      (await podEvents(pod)).find((event) => event.reason === reason && message.test(event.message)),
    );
  const waitRunning = (pod: string): Promise<V1Pod> =>
    eventually(
      `${pod} to be Running`,
      async () => {
        const read = await core.readNamespacedPod({ namespace, name: pod });
        return read.status?.phase === 'Running' ? read : undefined;
      },
      60_000,
    );

  before(async () => {
    emulator = await startEmulator({ storageAccounts: [ACCOUNT] });
    connector = await startConnector({
      cluster,
      emulator,
      nodeName,
      env: { NODE_STATUS_INTERVAL_SECONDS: '2', ACI_WAIT_RETRY_SECONDS: '2' },
    });
    namespace = await cluster.createNamespace('storage', {
      [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED,
    });
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'azure-storage' },
        stringData: { azurestorageaccountname: ACCOUNT.name, azurestorageaccountkey: ACCOUNT.key },
      },
    });
  });

  after(async () => {
    await connector.stop();
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
    for (const name of volumes) await core.deletePersistentVolume({ name }).catch(() => undefined);
    await emulator.close();
  });

  it('mounts a claim bound to a static file.csi.azure.com volume as an ACI azureFile volume', async () => {
    await createVolume(`aci-files-${suffix}`, 'uploads', azureFilesVolume('uploads'));
    await createClaim('uploads', `aci-files-${suffix}`);
    await waitBound('uploads');
    await core.createNamespacedPod({ namespace, body: claimPod('files', 'uploads') });
    await waitRunning('files');
    const sent = await sentGroup('files');
    assert.ok(sent, 'the group was created');
    assert.deepEqual(
      sent.properties.volumes?.find((volume) => volume.name === 'data'),
      {
        name: 'data',
        azureFile: { shareName: 'uploads', storageAccountName: ACCOUNT.name, storageAccountKey: ACCOUNT.key },
      },
    );
    const mounts = sent.properties.containers[0]?.properties.volumeMounts;
    assert.deepEqual(
      mounts?.filter((mount) => mount.name === 'data'),
      [{ name: 'data', mountPath: '/data' }],
    );
  });

  it('keeps a pod whose claim is not bound Pending with an event, and creates its group once it binds', async () => {
    await createClaim('later');
    await core.createNamespacedPod({ namespace, body: claimPod('waits', 'later') });
    const { message } = await waitEvent('waits', 'CreateContainerConfigError', /not bound/);
    assert.match(
      message,
      /spec\.volumes\[0\]\.persistentVolumeClaim\.claimName: PersistentVolumeClaim "later" is not bound/,
    );
    const pod = await core.readNamespacedPod({ namespace, name: 'waits' });
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(await sentGroup('waits'), undefined, 'ACI was never asked');

    await createVolume(`aci-files-later-${suffix}`, 'later', azureFilesVolume('uploads'));
    await waitBound('later');
    await waitRunning('waits');
  });

  it('refuses a claim of another kind of volume with its field path: at admission, and in the connector', async () => {
    await createVolume(`aci-hostpath-${suffix}`, 'local', { hostPath: { path: `/tmp/aci-${suffix}` } });
    await createClaim('local', `aci-hostpath-${suffix}`);
    await waitBound('local');

    // The webhook as it runs (webhook/main.ts wiring), reading the claim and the volume from the API server.
    const webhook = new WebhookServer({
      logger: silentLogger(),
      registry: createRegistry({ component: 'storage-e2e-webhook', processMetrics: false }),
      check: checkPod,
      references: podReferences,
      reader: kubernetesReferenceReader(core, { secretValues: 'blank' }),
      schedulerName: undefined,
    });
    const required = claimPod('disk', 'local', { 'azure.com/aci': 'required' });
    const reply = await webhook.review('required', {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'storage-e2e',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        operation: 'CREATE',
        namespace,
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { ...required.metadata, namespace },
          spec: required.spec,
        },
      },
    });
    const response = (reply.body as { response: { allowed: boolean; status?: { message?: string } } })
      .response;
    assert.equal(response.allowed, false);
    assert.match(
      response.status?.message ?? '',
      /spec\.volumes\[0\]\.persistentVolumeClaim: claim "local" is bound to PersistentVolume "aci-hostpath-\w+" \(hostPath\), and ACI can mount only Azure Files shares/,
    );

    await core.createNamespacedPod({ namespace, body: claimPod('disk', 'local') });
    await waitEvent(
      'disk',
      'CreateContainerConfigError',
      /spec\.volumes\[0\]\.persistentVolumeClaim: claim "local" is bound .*\(hostPath\)/,
    );
    const pod = await core.readNamespacedPod({ namespace, name: 'disk' });
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(await sentGroup('disk'), undefined, 'ACI was never asked');
  });

  it('shows a share the storage account does not have as Azure does: FailedMountAzureFileVolume', async () => {
    await createVolume(`aci-files-missing-${suffix}`, 'missing', azureFilesVolume('no-such-share'));
    await createClaim('missing', `aci-files-missing-${suffix}`);
    await waitBound('missing');
    await core.createNamespacedPod({ namespace, body: claimPod('unmounted', 'missing') });
    await waitEvent('unmounted', 'FailedMountAzureFileVolume', /Failed to mount Azure File Volume/);
  });

  const hookPod = (name: string, lifecycle: V1Lifecycle): V1Pod => ({
    metadata: { name },
    spec: {
      nodeName,
      tolerations: [ACI_TOLERATION],
      terminationGracePeriodSeconds: 20,
      containers: [{ name: 'app', image: 'nginx', lifecycle }],
    },
  });
  /** What exec sessions of the pod's group were typed (the emulator's exec log), in order. */
  const execInputs = async (pod: string): Promise<{ index: number; input: string }[]> =>
    (await requests()).flatMap((entry, index) =>
      entry.method === 'EXEC' && entry.path.includes(`${groupPath(pod)}/containers/`)
        ? [{ index, input: (entry.body as { input?: string }).input ?? '' }]
        : [],
    );

  it("runs a preStop exec hook through ACI's exec before the group's DELETE", async () => {
    await core.createNamespacedPod({
      namespace,
      body: hookPod('stops', { preStop: { exec: { command: ['sh', '-c', 'echo drained'] } } }),
    });
    await waitRunning('stops');
    await core.deleteNamespacedPod({ namespace, name: 'stops' });
    await eventually(
      'the pod to be gone',
      async () => {
        const left = await core.listNamespacedPod({ namespace, fieldSelector: 'metadata.name=stops' });
        return left.items.length === 0 ? true : undefined;
      },
      60_000,
    );
    const log = await requests();
    const hook = (await execInputs('stops')).find((entry) => entry.input.includes("'echo drained'"));
    assert.ok(hook, 'the exec log shows the preStop command');
    const deleted = log.findIndex(
      (entry) => entry.method === 'DELETE' && entry.path.endsWith(groupPath('stops')),
    );
    assert.ok(deleted >= 0, 'the group was deleted');
    assert.ok(hook.index < deleted, 'the hook ran before the DELETE');
    const events = await podEvents('stops');
    assert.equal(events.filter((event) => event.reason === 'FailedPreStopHook').length, 0);
  });

  it('runs a postStart exec hook once the container runs, and reports a failing one as a kubelet does', async () => {
    await core.createNamespacedPod({
      namespace,
      body: hookPod('starts', { postStart: { exec: { command: ['sh', '-c', 'echo warmed'] } } }),
    });
    await waitRunning('starts');
    await eventually('the postStart command in the exec log', async () =>
      (await execInputs('starts')).find((entry) => entry.input.includes("'echo warmed'")),
    );

    await core.createNamespacedPod({
      namespace,
      body: hookPod('fails', { postStart: { exec: { command: ['sh', '-c', 'echo no config; exit 3'] } } }),
    });
    const { message } = await waitEvent('fails', 'FailedPostStartHook', /exit code 3/);
    assert.match(message, /no config/);
    await eventually('the group to be restarted', async () =>
      (await requests()).find(
        (entry) => entry.method === 'POST' && entry.path.endsWith(`${groupPath('fails')}/restart`),
      ),
    );
  });
});
