// The live view: one compact table of the demo's nodes and pods, rendered as text. Pure.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { isVirtualNode } from '../../contract/index.ts';
import { SIMULATED_LABEL } from './simulated-node.ts';

function nodeStatus(node: V1Node): string {
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
  return ready?.status === 'True' ? 'Ready' : 'NotReady';
}

function nodeRole(node: V1Node): string {
  if (isVirtualNode(node)) return 'virtual node -> ACI (local emulator)';
  if (node.metadata?.labels?.[SIMULATED_LABEL] === 'true') return 'SIMULATED worker (no kubelet)';
  return 'node';
}

function podPhase(pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp !== undefined) return 'Terminating';
  return pod.status?.phase ?? 'Pending';
}

/** Columns padded to their widest cell, separated by two spaces. */
export function formatColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export function renderTable(nodes: readonly V1Node[], pods: readonly V1Pod[]): string[] {
  const nodeRows = [...nodes]
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((node) => [node.metadata?.name ?? '?', nodeStatus(node), nodeRole(node)]);
  const podRows = [...pods]
    .map((pod) => [
      `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? '?'}`,
      podPhase(pod),
      pod.spec?.nodeName ?? '<none>',
      pod.status?.podIP ?? '<none>',
    ])
    .sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
  return [
    ...formatColumns([['NODE', 'STATUS', 'ROLE'], ...nodeRows]),
    '',
    ...formatColumns([['POD', 'PHASE', 'NODE', 'IP'], ...podRows]),
  ];
}
