// The demo's Kubernetes calls: the simulated worker's (SimulatedNodeApi), its namespaces, and the
// checks it waits on. Errors are classified (runtime/errors.ts); expected 404s and 409s are values.
import {
  PatchStrategy,
  setHeaderOptions,
  type AdmissionregistrationV1Api,
  type CoreV1Api,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { unlessKind } from '../../runtime/kubernetes-calls.ts';
import type { SimulatedNodeApi } from './simulated-node.ts';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const STRATEGIC_MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** The label that marks everything the demo created, so a later run or a person can find it. */
export const DEMO_LABEL = 'aci-burst.demo/owned';

export function simulatedNodeApi(core: CoreV1Api): SimulatedNodeApi {
  return {
    register: async (node) => {
      const created = await unlessKind(core.createNode({ body: node }), 'Conflict');
      if (created !== undefined) return;
      // Left by a run that was killed: take it over with a fresh status.
      const name = node.metadata?.name ?? '';
      await core.patchNodeStatus({ name, body: { status: node.status } }, MERGE_PATCH);
    },
    heartbeat: async (name, condition) => {
      await core.patchNodeStatus(
        { name, body: { status: { conditions: [condition] } } },
        STRATEGIC_MERGE_PATCH,
      );
    },
    podsOnNode: async (name) =>
      (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })).items,
    setStatus: async (pod, status) => {
      await unlessKind(
        core.patchNamespacedPodStatus(
          { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', body: { status } },
          MERGE_PATCH,
        ),
        'NotFound',
      );
    },
    deleteNow: async (pod) => {
      await unlessKind(
        core.deleteNamespacedPod({
          name: pod.metadata?.name ?? '',
          namespace: pod.metadata?.namespace ?? '',
          gracePeriodSeconds: 0,
        }),
        'NotFound',
      );
    },
  };
}

/** Creates the namespace (labelled) or relabels the one an earlier run left; false while it is still terminating. */
export async function ensureNamespace(
  core: CoreV1Api,
  name: string,
  labels: Readonly<Record<string, string>>,
): Promise<boolean> {
  const existing = await unlessKind(core.readNamespace({ name }), 'NotFound');
  if (existing?.metadata?.deletionTimestamp !== undefined) return false;
  const body = { metadata: { name, labels: { ...labels, [DEMO_LABEL]: 'true' } } };
  if (existing === undefined) {
    return (await unlessKind(core.createNamespace({ body }), 'Conflict')) !== undefined;
  }
  await core.patchNamespace({ name, body }, MERGE_PATCH);
  return true;
}

export async function hasDefaultServiceAccount(core: CoreV1Api, namespace: string): Promise<boolean> {
  return (
    (await unlessKind(core.readNamespacedServiceAccount({ name: 'default', namespace }), 'NotFound')) !==
    undefined
  );
}

/** Ready, and the node controller has lifted the not-ready taint admission put on the new node. */
export function isSchedulable(node: V1Node | undefined): boolean {
  const ready = node?.status?.conditions?.find((condition) => condition.type === 'Ready');
  const notReadyTaint = (node?.spec?.taints ?? []).some((taint) =>
    taint.key.startsWith('node.kubernetes.io/'),
  );
  return ready?.status === 'True' && !notReadyTaint;
}

export function readNode(core: CoreV1Api, name: string): Promise<V1Node | undefined> {
  return unlessKind(core.readNode({ name }), 'NotFound');
}

/**
 * Whether the API server already sends pods of the burst namespace to the webhook: its configuration
 * reaches the API server through a watch, so the first pods could otherwise slip past it. A server-side
 * dry run calls the webhook (it declares no side effects) and shows its patch without creating anything.
 */
export async function webhookSteers(
  core: CoreV1Api,
  namespace: string,
  schedulerName: string,
): Promise<boolean> {
  const probe: V1Pod = {
    metadata: { name: 'webhook-probe', labels: { [DEMO_LABEL]: 'true' } },
    spec: { containers: [{ name: 'probe', image: 'nginx' }] },
  };
  const result = await core.createNamespacedPod({ namespace, body: probe, dryRun: 'All' });
  return result.spec?.schedulerName === schedulerName;
}

export async function deleteNamespaces(core: CoreV1Api, names: readonly string[]): Promise<void> {
  await Promise.all(names.map((name) => unlessKind(core.deleteNamespace({ name }), 'NotFound')));
}

export async function namespacesGone(core: CoreV1Api, names: readonly string[]): Promise<boolean> {
  const found = await Promise.all(names.map((name) => unlessKind(core.readNamespace({ name }), 'NotFound')));
  return found.every((namespace) => namespace === undefined);
}

export async function deleteNodes(core: CoreV1Api, names: readonly string[]): Promise<void> {
  await Promise.all(names.map((name) => unlessKind(core.deleteNode({ name }), 'NotFound')));
}

export async function deleteWebhookConfiguration(
  api: AdmissionregistrationV1Api,
  name: string,
): Promise<void> {
  await unlessKind(api.deleteMutatingWebhookConfiguration({ name }), 'NotFound');
}

export async function listPods(core: CoreV1Api, namespaces: readonly string[]): Promise<V1Pod[]> {
  const lists = await Promise.all(namespaces.map((namespace) => core.listNamespacedPod({ namespace })));
  return lists.flatMap((list) => list.items);
}
