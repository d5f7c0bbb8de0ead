// High availability end to end: two real connector processes for one virtual node elect a leader on a
// Lease in their own namespace. The leader is killed with SIGKILL in the middle of a burst (creates
// slowed by the emulator, so some are in flight), while some pods are being deleted. The standby takes
// over, every pod runs with exactly one create sent to ACI for its group (the emulator's request log),
// and every deleted pod's group is deleted and its pod object removed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, CoreV1Api, type V1Lease, type V1Pod } from '@kubernetes/client-node';
import {
  ACI_TOLERATION,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  containerGroupName,
} from '../../contract/index.ts';
import { createAzureClients } from '../../connector/azure-client.ts';
import { LOCAL_CONNECTOR_NAMESPACE } from '../../scripts/local/connector-credentials.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { clientSettingsFor } from '../emulator/testing.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const coordination = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
const nodeName = `aci-ha-${randomBytes(3).toString('hex')}`;
/** The connector's cluster id (no ACI_CLUSTER_ID here): part of every group name. */
const clusterId = (await core.readNamespace({ name: 'kube-system' })).metadata?.uid ?? '';
const BURST = 24;
const DELETED = 6;
/** Each create takes this long at ACI, so a burst is still sending creates when the leader dies. */
const CREATE_LATENCY_MS = 1500;

function pod(name: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName,
      tolerations: [ACI_TOLERATION],
      containers: [{ name: 'app', image: 'aci-burst/run?log=ready' }],
    },
  };
}

function readLease(): Promise<V1Lease> {
  return coordination.readNamespacedLease({ name: nodeName, namespace: LOCAL_CONNECTOR_NAMESPACE });
}

describe('two connector replicas: the standby takes over when the leader is killed mid-burst', () => {
  let emulator: RunningEmulator;
  let first: RunningConnector;
  let second: RunningConnector;
  let namespace: string;

  before(async () => {
    emulator = await startEmulator();
    namespace = await cluster.createNamespace('ha', { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED });
    const env = (name: string): Record<string, string> => ({
      LEADER_ELECTION_NAMESPACE: LOCAL_CONNECTOR_NAMESPACE,
      POD_NAME: name,
      ACI_WAIT_RETRY_SECONDS: '1',
    });
    // One after the other, so the first is the leader when the second starts.
    first = await startConnector({ cluster, emulator, nodeName, env: env('first') });
    second = await startConnector({ cluster, emulator, nodeName, env: env('second') });
  });

  after(async () => {
    await first.kill();
    await second.stop();
    await first.stop();
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
    await coordination
      .deleteNamespacedLease({ name: nodeName, namespace: LOCAL_CONNECTOR_NAMESPACE })
      .catch(() => undefined);
    await emulator.close();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('elects the first replica; the second stands by and writes nothing', async () => {
    const lease = await readLease();
    assert.match(lease.spec?.holderIdentity ?? '', /^first_/);
    const node = await core.readNode({ name: nodeName });
    assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, first.kubeletPort);
    assert.match(second.logText(), /standing by until elected/);
    assert.doesNotMatch(second.logText(), /leader election: leading/);
  });

  it('after SIGKILL of the leader mid-burst: takeover, one create per group, no lost delete', async (t) => {
    await emulator.control.setFaults([
      { fault: 'latency', latencyMs: CREATE_LATENCY_MS, method: 'PUT', pathContains: '/containerGroups/' },
    ]);
    const names = Array.from({ length: BURST }, (_, i) => `burst-${String(i)}`);
    for (const name of names) await core.createNamespacedPod({ namespace, body: pod(name) });
    // The first deletions reach the leader before it dies; the pods stay (deletionTimestamp) until
    // the connector has deleted their groups.
    await eventually('a few groups to be created', async () => {
      const puts = (await emulator.control.requests()).filter((r) => r.method === 'PUT');
      return puts.length >= 4 ? true : undefined;
    });
    const deleted = names.slice(0, DELETED);
    for (const name of deleted.slice(0, DELETED / 2)) await core.deleteNamespacedPod({ namespace, name });
    await first.kill();
    const killedAt = Date.now();
    const sentBeforeKill = (await emulator.control.requests()).filter((r) => r.method === 'PUT').length;
    assert.ok(
      sentBeforeKill < BURST - DELETED,
      `the burst was unfinished (${String(sentBeforeKill)} creates sent)`,
    );
    assert.doesNotMatch(second.logText(), /created container group/, 'the standby created nothing');
    // While no one leads: more deletions, which the new leader must carry out.
    for (const name of deleted.slice(DELETED / 2)) await core.deleteNamespacedPod({ namespace, name });

    await eventually(
      'the second replica to lead',
      async () => ((await readLease()).spec?.holderIdentity?.startsWith('second_') ? true : undefined),
      60_000,
    );
    const leadingAfterMs = Date.now() - killedAt;
    await eventually(
      'the node to name the new leader’s kubelet port',
      async () =>
        (await core.readNode({ name: nodeName })).status?.daemonEndpoints?.kubeletEndpoint?.Port ===
        second.kubeletPort
          ? true
          : undefined,
      60_000,
    );
    const writingAfterMs = Date.now() - killedAt;
    t.diagnostic(
      `${String(sentBeforeKill)} of ${String(BURST)} creates answered before the kill; failover: leading ${String(leadingAfterMs)} ms, node written ${String(writingAfterMs)} ms after SIGKILL`,
    );
    // The bound is 10 s of lease + 2 retry periods; loosely, for a loaded machine.
    assert.ok(leadingAfterMs < 30_000, `the standby led ${String(leadingAfterMs)} ms after the leader died`);

    const kept = names.slice(DELETED);
    await eventually(
      'every kept pod to run',
      async () => {
        const pods = await core.listNamespacedPod({ namespace });
        const running = pods.items.filter((p) => p.status?.phase === 'Running').map((p) => p.metadata?.name);
        return kept.every((name) => running.includes(name)) ? true : undefined;
      },
      120_000,
    );
    await eventually(
      'every deleted pod to be gone',
      async () => {
        const pods = await core.listNamespacedPod({ namespace });
        const left = pods.items.map((p) => p.metadata?.name ?? '');
        return deleted.some((name) => left.includes(name)) ? undefined : true;
      },
      120_000,
    );

    // A PUT the old leader had sent when it died is logged with status 0: the connection was gone
    // before ACI answered, and nothing was created. Every PUT that reached ACI must have created its
    // group (201), never replaced one (200), and each group must have been created once.
    const requests = await emulator.control.requests();
    const groupOf = (path: string): string => path.split('/containerGroups/')[1]?.split('/')[0] ?? '';
    const puts = requests.filter((r) => r.method === 'PUT' && r.path.includes('/containerGroups/'));
    const accepted = puts.filter((r) => r.status !== 0);
    const creates = new Map<string, number>();
    for (const r of accepted) creates.set(groupOf(r.path), (creates.get(groupOf(r.path)) ?? 0) + 1);
    const history = (group: string): string[] =>
      requests
        .filter((r) => groupOf(r.path) === group && r.method !== 'GET')
        .map((r) => `${r.time} ${r.method} ${String(r.status)} ${group}`);
    const repeated = [...creates].filter(([, count]) => count > 1);
    assert.deepEqual(
      repeated,
      [],
      `no group was created twice:\n${repeated.flatMap(([g]) => history(g)).join('\n')}`,
    );
    assert.deepEqual(
      accepted.filter((r) => r.status !== 201).map((r) => `${String(r.status)} ${groupOf(r.path)}`),
      [],
      'every create that reached ACI created a new group',
    );
    t.diagnostic(
      `${String(puts.length - accepted.length)} creates cut off by the kill, sent again by the new leader`,
    );
    const groupName = (name: string): string => containerGroupName(namespace, name, clusterId);
    assert.deepEqual(
      (await groupsLeft()).sort(),
      kept.map(groupName).sort(),
      'no lost delete, no stray group',
    );
  });

  /** The groups in the emulator's resource group, by name, through ARM as the connector sees them. */
  async function groupsLeft(): Promise<string[]> {
    const { client } = createAzureClients(clientSettingsFor(emulator));
    const names: string[] = [];
    for await (const group of client.containerGroups.listByResourceGroup(emulator.resourceGroup)) {
      names.push(group.name ?? '');
    }
    return names;
  }
});
