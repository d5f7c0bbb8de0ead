// The downward API: pod fields and container resources as environment values or files. ACI fixes a
// group's environment and files at creation, so only what is known before the group exists can be
// passed; the pod and host IP are assigned by ACI afterwards and are refused.
import type { V1Container, V1Pod, V1ResourceFieldSelector } from '@kubernetes/client-node';
import { type Context, namespaceOf, ownValue, refuse, remembered } from './context.ts';
import { parseQuantity } from './quantity.ts';
import { limitAmounts, requestedAmounts } from './resources.ts';
import { serviceAccountName } from './service-account.ts';

const MAP_ENTRY = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/** Kubernetes' format for whole label and annotation maps in files: sorted `key="value"` lines. */
function formatMap(map: Record<string, string>): string {
  return Object.keys(map)
    .sort()
    .map((key) => `${key}=${JSON.stringify(map[key])}`)
    .join('\n');
}

/** The fields a container may read, as Kubernetes names them. */
const POD_FIELDS: Record<string, (pod: V1Pod) => string | undefined> = {
  'metadata.name': (pod) => pod.metadata?.name,
  'metadata.namespace': namespaceOf,
  'metadata.uid': (pod) => pod.metadata?.uid,
  'spec.nodeName': (pod) => pod.spec?.nodeName,
  'spec.serviceAccountName': serviceAccountName,
};
/** Whole maps, which only downward-API files can hold. */
const POD_MAPS: Record<string, (pod: V1Pod) => Record<string, string> | undefined> = {
  'metadata.labels': (pod) => pod.metadata?.labels,
  'metadata.annotations': (pod) => pod.metadata?.annotations,
};

function podField(context: Context, fieldPath: string, wholeMapsAllowed: boolean): string | undefined {
  const { pod } = context;
  const entry = MAP_ENTRY.exec(fieldPath);
  if (entry) return ownValue(ownValue(POD_MAPS, `metadata.${entry[1] ?? ''}`)?.(pod), entry[2] ?? '') ?? '';
  const field = ownValue(POD_FIELDS, fieldPath);
  if (field) return field(pod) ?? '';
  const map = wholeMapsAllowed ? ownValue(POD_MAPS, fieldPath) : undefined;
  // Formatted once per walk: every file of the same map holds the same text.
  return map && remembered(context, 'formatted map', fieldPath, () => formatMap(map(pod) ?? {}));
}

/**
 * A pod field's value (`fieldRef`), or `undefined` with a problem recorded when ACI cannot know it.
 * Whole label and annotation maps exist only in downward-API files, as in Kubernetes.
 */
export function fieldValue(
  context: Context,
  path: string,
  fieldPath: string,
  wholeMapsAllowed: boolean,
): string | undefined {
  const value = podField(context, fieldPath, wholeMapsAllowed);
  if (value !== undefined) return value;
  if (fieldPath.startsWith('status.')) {
    refuse(
      context,
      path,
      `${fieldPath} is assigned by ACI when the container group is created, after its environment and files are fixed`,
      'read the address inside the container instead (for example `hostname -i`)',
    );
  } else {
    refuse(
      context,
      path,
      `the field "${fieldPath}" cannot be passed to a container`,
      'use a supported fieldPath',
    );
  }
  return undefined;
}

/** The amounts a container's resourceFieldRefs may name, in base units. */
function resourceAmounts(container: V1Container): Record<string, number> {
  const requested = requestedAmounts(container);
  const limited = { ...requested, ...limitAmounts(container) };
  const amounts: Record<string, number> = {
    'requests.cpu': requested.cpu,
    'limits.cpu': limited.cpu,
    'requests.memory': requested.memoryInGB * 1e9,
    'limits.memory': limited.memoryInGB * 1e9,
  };
  const storage = (kind: 'requests' | 'limits'): number =>
    // ACI gives each group 50 GB of storage; a container that names no amount may use all of it.
    parseQuantity(container.resources?.[kind]?.['ephemeral-storage']) ?? 50e9;
  amounts['requests.ephemeral-storage'] = storage('requests');
  amounts['limits.ephemeral-storage'] = storage('limits');
  return amounts;
}

/**
 * A container resource (`resourceFieldRef`) as Kubernetes formats it: the amount ACI allocates
 * (after rounding up) divided by the divisor, rounded up to a whole number.
 */
export function resourceValue(
  context: Context,
  path: string,
  container: V1Container | undefined,
  selector: V1ResourceFieldSelector,
): string | undefined {
  const amounts =
    container && remembered(context, 'resource amounts', container, () => resourceAmounts(container));
  const amount = ownValue(amounts, selector.resource);
  if (amount === undefined) {
    refuse(
      context,
      path,
      container
        ? `the resource "${selector.resource}" cannot be passed to a container on ACI`
        : `no container is named "${selector.containerName ?? ''}"`,
      'use requests or limits of cpu, memory or ephemeral-storage of a container of this pod',
    );
    return undefined;
  }
  const divisor = parseQuantity(selector.divisor) ?? 1;
  return String(Math.ceil(amount / divisor - 1e-9));
}
