// Opt-in enforced twice, on the real API server and with the real connector: the shipped
// ValidatingAdmissionPolicy refuses every way a pod of a namespace that did not opt in could reach
// the virtual node (no webhook involved: it holds while the webhook is down), and the connector,
// for a pod that got past admission anyway (created before the policy, or whose namespace lost its
// label), keeps it Pending with an event and sends nothing to Azure until the namespace opts in.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Binding,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  ACI_TOLERATION,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  PLACEMENT_LABEL,
} from '../../contract/index.ts';
import { classifyKubernetesError } from '../../runtime/errors.ts';
import { installOptInPolicy } from '../../scripts/local/opt-in-policy.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import type { RequestLogEntry } from '../emulator/request-log.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const suffix = randomBytes(3).toString('hex');
const nodeName = `aci-optin-${suffix}`;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function pod(name: string, spec: Partial<V1Pod['spec']> = {}, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: { containers: [{ name: 'app', image: 'aci-burst/run?log=hello' }], ...spec },
  };
}

/** The API server's refusal message, or `admitted`. */
async function admission(namespace: string, body: V1Pod): Promise<string> {
  try {
    await core.createNamespacedPod({ namespace, body });
    return 'admitted';
  } catch (error) {
    const classified = classifyKubernetesError(error);
    return `${String(classified.statusCode)} ${classified.message}`;
  }
}

async function waitingReason(namespace: string, name: string): Promise<string | undefined> {
  const found = await core.readNamespacedPod({ namespace, name });
  return found.status?.containerStatuses?.[0]?.state?.waiting?.reason;
}

describe('opt-in: pods of namespaces that did not opt in never run on ACI', () => {
  let emulator: RunningEmulator;
  let connector: RunningConnector;
  let removePolicy: (() => Promise<void>) | undefined;
  let optedIn: string;
  let plain: string;
  let allowed: string;

  before(async () => {
    [optedIn, plain, allowed] = await Promise.all([
      cluster.createNamespace('optin-yes', { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED }),
      cluster.createNamespace('optin-no'),
      cluster.createNamespace('optin-listed'),
    ]);
    emulator = await startEmulator();
    connector = await startConnector({
      cluster,
      emulator,
      nodeName,
      env: { ACI_ALLOWED_NAMESPACES: allowed, ACI_WAIT_RETRY_SECONDS: '1' },
    });
  });

  after(async () => {
    await removePolicy?.();
    await connector.stop();
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
    await emulator.close();
  });

  it('the connector keeps a pod of a namespace that did not opt in Pending, and sends nothing to Azure', async () => {
    // No policy installed yet: admission lets it through, as it would while the policy is missing.
    await core.createNamespacedPod({ namespace: plain, body: pod('sneaky', { nodeName }) });
    await eventually('the refusal to show on the pod', async () =>
      (await waitingReason(plain, 'sneaky')) === 'NamespaceNotOptedIn' ? true : undefined,
    );
    const events = await core.listNamespacedEvent({
      namespace: plain,
      fieldSelector: 'involvedObject.name=sneaky',
    });
    const refusal = events.items.find((event) => event.reason === 'NamespaceNotOptedIn');
    assert.match(refusal?.message ?? '', new RegExp(`namespace ${plain} has not opted in to bursting`));
    assert.equal(
      (await core.readNamespacedPod({ namespace: plain, name: 'sneaky' })).status?.phase,
      'Pending',
    );
    const puts = (await emulator.control.requests()).filter((r: RequestLogEntry) => r.method === 'PUT');
    assert.deepEqual(puts, [], 'no container group was created');
  });

  it('the connector runs a pod of a namespace named in ACI_ALLOWED_NAMESPACES', async () => {
    await core.createNamespacedPod({ namespace: allowed, body: pod('listed', { nodeName }) });
    await eventually('the allow-listed pod to run', async () => {
      const found = await core.readNamespacedPod({ namespace: allowed, name: 'listed' });
      return found.status?.phase === 'Running' ? true : undefined;
    });
  });

  describe('the ValidatingAdmissionPolicy, with no webhook anywhere', () => {
    before(async () => {
      removePolicy = await installOptInPolicy(cluster.kubeConfig, {
        name: `aci-burst-opt-in-${suffix}`,
        virtualNodes: [nodeName],
        allowedNamespaces: [allowed],
      });
      // The API server loads a new policy within a moment.
      await eventually('the policy to be enforced', async () =>
        (await admission(plain, pod(`probe-${randomBytes(2).toString('hex')}`, { nodeName }))).startsWith(
          '403',
        )
          ? true
          : undefined,
      );
    });

    const table: { what: string; namespace: () => string; pod: () => V1Pod; expected: RegExp }[] = [
      {
        what: 'refuses a pod naming the virtual node',
        namespace: () => plain,
        pod: () => pod('named', { nodeName }),
        expected:
          /^403 .*the pod may not run on the virtual node aci-optin-\w+: namespace optin-no-\w+ has not opted in.*kubectl label namespace optin-no-\w+ azure\.com\/aci-burst=enabled/,
      },
      {
        what: 'refuses a pod tolerating the virtual node’s taint',
        namespace: () => plain,
        pod: () => pod('tolerating', { tolerations: [ACI_TOLERATION] }),
        expected:
          /^403 .*the pod tolerates the taint azure\.com\/aci, but namespace optin-no-\w+ has not opted in/,
      },
      {
        what: 'refuses a pod labelled azure.com/aci=required',
        namespace: () => plain,
        pod: () => pod('required', {}, { [PLACEMENT_LABEL]: 'required' }),
        expected:
          /^403 .*the pod is labelled azure\.com\/aci=required, but namespace optin-no-\w+ has not opted in/,
      },
      {
        what: 'admits a pod that stays off ACI',
        namespace: () => plain,
        pod: () => pod('ordinary'),
        expected: /^admitted$/,
      },
      {
        what: 'admits a pod naming the virtual node in a labelled namespace',
        namespace: () => optedIn,
        pod: () => pod('named', { nodeName, tolerations: [ACI_TOLERATION] }),
        expected: /^admitted$/,
      },
      {
        what: 'admits a pod naming the virtual node in an allow-listed namespace',
        namespace: () => allowed,
        pod: () => pod('named', { nodeName }),
        expected: /^admitted$/,
      },
    ];
    for (const { what, namespace, pod: make, expected } of table) {
      it(what, async () => {
        assert.match(await admission(namespace(), make()), expected);
      });
    }

    it('refuses to bind a pod tolerating every taint (a DaemonSet’s) to the virtual node, not to another', async () => {
      const everything = pod('everywhere', {
        tolerations: [{ operator: 'Exists' }],
        schedulerName: 'nobody',
      });
      assert.equal(await admission(plain, everything), 'admitted');
      const refusal = (error: unknown): string =>
        `${String(classifyKubernetesError(error).statusCode)} ${classifyKubernetesError(error).message}`;
      const target = (node: string): V1Binding => ({
        metadata: { name: 'everywhere' },
        target: { apiVersion: 'v1', kind: 'Node', name: node },
      });
      // The scheduler's path (pods/{name}/binding) and the older one (bindings): both are checked.
      const bind = (node: string): Promise<string> =>
        core
          .createNamespacedPodBinding({ namespace: plain, name: 'everywhere', body: target(node) })
          .then(() => 'bound', refusal);
      const bindTheOldWay = (node: string): Promise<string> =>
        core.createNamespacedBinding({ namespace: plain, body: target(node) }).then(() => 'bound', refusal);
      assert.match(await bindTheOldWay(nodeName), /^403 .*may not run on the virtual node/);
      assert.match(await bind(nodeName), /^403 .*may not run on the virtual node/);
      assert.equal(await bind(`not-virtual-${suffix}`), 'bound');
    });

    it('the waiting pod runs once its namespace opts in', async () => {
      await core.patchNamespace(
        { name: plain, body: { metadata: { labels: { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED } } } },
        MERGE_PATCH,
      );
      await eventually('the pod to run', async () => {
        const found = await core.readNamespacedPod({ namespace: plain, name: 'sneaky' });
        return found.status?.phase === 'Running' ? true : undefined;
      });
    });
  });
});
