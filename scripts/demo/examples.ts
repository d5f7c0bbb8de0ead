// The examples the demo applies (manifests/examples/), which namespace each goes to, and how far
// each has got: pure functions of the YAML and of the pods the API server lists.
import type { V1Pod } from '@kubernetes/client-node';
import { DEFAULT_NODE_NAME } from '../../contract/index.ts';
import { SIMULATED_NODE_NAME } from './simulated-node.ts';

/**
 * The 2017 examples, which reach ACI by nodeName or toleration: not labelled (the webhook leaves its
 * pods alone) but allow-listed (the connector's ACI_ALLOWED_NAMESPACES and the opt-in policy).
 */
export const EXAMPLES_NAMESPACE = 'aci-burst-demo';
/** Labelled azure.com/aci-burst=enabled by the demo. */
export const BURST_NAMESPACE = 'aci-burst-demo-burst';
/** The webhook's own namespace (its certificate Secret). */
export const WEBHOOK_NAMESPACE = 'aci-burst-demo-system';
export const DEMO_NAMESPACES = [EXAMPLES_NAMESPACE, BURST_NAMESPACE, WEBHOOK_NAMESPACE] as const;

export interface ExampleFile {
  /** Relative to the repository root. */
  path: string;
  namespace: string;
}

export const EXAMPLE_FILES: readonly ExampleFile[] = [
  { path: 'manifests/examples/nginx-pod.yaml', namespace: EXAMPLES_NAMESPACE },
  { path: 'manifests/examples/nginx-pod-tolerations.yaml', namespace: EXAMPLES_NAMESPACE },
  { path: 'manifests/examples/burst-namespace.yaml', namespace: BURST_NAMESPACE },
];

/** Where the examples may run: the virtual node, or the simulated worker the burst policy fills first. */
export const DEMO_NODES: readonly string[] = [DEFAULT_NODE_NAME, SIMULATED_NODE_NAME];

export interface Example {
  /** `namespace/name`, as the summary prints it. */
  title: string;
  namespace: string;
  /** A Pod's name, or the labels a Deployment's pods carry. */
  match: { podName: string } | { labels: Readonly<Record<string, string>> };
  expectedPods: number;
}

interface ManifestObject {
  kind?: string;
  metadata?: { name?: string };
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
}

/** The examples a file defines (Pods and Deployments; other kinds are not watched). */
export function examplesIn(file: ExampleFile, objects: readonly unknown[]): Example[] {
  return objects.flatMap((value): Example[] => {
    const object = value as ManifestObject;
    const name = object.metadata?.name;
    if (name === undefined) return [];
    const title = `${file.namespace}/${name}`;
    if (object.kind === 'Pod') {
      return [{ title, namespace: file.namespace, match: { podName: name }, expectedPods: 1 }];
    }
    const labels = object.spec?.selector?.matchLabels;
    if (object.kind === 'Deployment' && labels !== undefined) {
      return [
        { title, namespace: file.namespace, match: { labels }, expectedPods: object.spec?.replicas ?? 1 },
      ];
    }
    return [];
  });
}

export function podsOf(example: Example, pods: readonly V1Pod[]): V1Pod[] {
  const { match } = example;
  return pods.filter((pod) => {
    if (pod.metadata?.namespace !== example.namespace || pod.metadata.deletionTimestamp !== undefined) {
      return false;
    }
    if ('podName' in match) return pod.metadata.name === match.podName;
    const labels = pod.metadata.labels ?? {};
    return Object.entries(match.labels).every(([key, value]) => labels[key] === value);
  });
}

export function isRunningOnDemoNode(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && DEMO_NODES.includes(pod.spec?.nodeName ?? '');
}

export interface ExampleProgress {
  example: Example;
  running: V1Pod[];
  /** Pods not Running yet, each with why. */
  waiting: { pod: string; reason: string }[];
  done: boolean;
}

export function progressOf(example: Example, pods: readonly V1Pod[]): ExampleProgress {
  const own = podsOf(example, pods);
  const running = own.filter(isRunningOnDemoNode);
  const waiting = own
    .filter((pod) => !isRunningOnDemoNode(pod))
    .map((pod) => ({ pod: pod.metadata?.name ?? '?', reason: waitingReason(pod) }));
  const missing = example.expectedPods - own.length;
  if (missing > 0) waiting.push({ pod: `${missing} pod(s)`, reason: 'not created yet' });
  return { example, running, waiting, done: running.length >= example.expectedPods };
}

/** The most telling reason a pod is not Running: a failed condition's message, else its phase. */
export function waitingReason(pod: V1Pod): string {
  const node = pod.spec?.nodeName;
  return [pod.status?.phase ?? 'Pending', node ? `on ${node}` : 'not scheduled', statusDetail(pod)]
    .filter((part) => part !== undefined)
    .join(', ');
}

function statusDetail(pod: V1Pod): string | undefined {
  const failing = pod.status?.conditions?.find((condition) => condition.status === 'False');
  if (failing !== undefined) return failing.message ?? failing.reason;
  const waiting = pod.status?.containerStatuses?.find((status) => status.state?.waiting)?.state?.waiting;
  return waiting?.message ?? waiting?.reason;
}

/** One line per example for the summary. */
export function summaryLines(progress: readonly ExampleProgress[]): string[] {
  return progress.map(({ example, running, waiting, done }) => {
    const where = countBy(running.map((pod) => pod.spec?.nodeName ?? '?'));
    const placed = Object.entries(where)
      .map(([node, count]) => `${count} on ${node}`)
      .join(', ');
    const head = `${example.title}: ${running.length}/${example.expectedPods} Running`;
    if (done) return `  ${head}${placed ? ` (${placed})` : ''}`;
    return `  ${head}; NOT Running: ${waiting.map((item) => `${item.pod} (${item.reason})`).join('; ')}`;
  });
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
