// The objects a pod references, so the webhook and the connector fetch exactly those.
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import type { PodReferences } from './types.ts';
import { serviceAccountName, serviceAccountTokenRequests } from './service-account.ts';

/**
 * The most ConfigMaps, Secrets and service-account tokens read for one pod. A kubelet has no such
 * bound, but it reads only for pods already admitted; the webhook reads for any pod created, so a pod
 * naming 60,000 objects would cost 60,000 reads. Real pods name a handful.
 */
export const MAX_POD_REFERENCES = 100;

interface Reference {
  name: string;
  optional: boolean;
}

interface References {
  configMaps: Reference[];
  secrets: Reference[];
}

/** The API types leave names and `optional` open; an unnamed reference names nothing to fetch. */
function reference(selector: { name?: string; optional?: boolean } | undefined): Reference[] {
  return selector?.name ? [{ name: selector.name, optional: selector.optional === true }] : [];
}

function containerReferences(container: V1Container): References {
  const envFrom = container.envFrom ?? [];
  const valueFrom = (container.env ?? []).map((variable) => variable.valueFrom);
  return {
    configMaps: [
      ...envFrom.flatMap((source) => reference(source.configMapRef)),
      ...valueFrom.flatMap((source) => reference(source?.configMapKeyRef)),
    ],
    secrets: [
      ...envFrom.flatMap((source) => reference(source.secretRef)),
      ...valueFrom.flatMap((source) => reference(source?.secretKeyRef)),
    ],
  };
}

function volumeReferences(volume: V1Volume): References {
  const { configMap, secret, projected, azureFile, csi } = volume;
  const sources = projected?.sources ?? [];
  const csiSecret = csi?.volumeAttributes?.secretName ?? csi?.nodePublishSecretRef?.name;
  return {
    configMaps: [configMap, ...sources.map((source) => source.configMap)].flatMap(reference),
    secrets: [
      ...reference(secret && { name: secret.secretName, optional: secret.optional }),
      ...sources.flatMap((source) => reference(source.secret)),
      ...reference(azureFile && { name: azureFile.secretName }),
      ...reference(csiSecret === undefined ? undefined : { name: csiSecret }),
    ],
  };
}

/** Sorted names, and those only ever referenced as optional. */
function summarise(references: readonly Reference[]): { names: string[]; optional: string[] } {
  const required = new Set(references.filter((entry) => !entry.optional).map((entry) => entry.name));
  const names = [...new Set(references.map((entry) => entry.name))].sort();
  return { names, optional: names.filter((name) => !required.has(name)) };
}

/** The claims the pod's volumes name, each once. */
function claimNames(volumes: readonly V1Volume[]): string[] {
  const names = volumes.flatMap((volume) =>
    reference(volume.persistentVolumeClaim && { name: volume.persistentVolumeClaim.claimName }),
  );
  return [...new Set(names.map((entry) => entry.name))].sort();
}

export function podReferences(pod: V1Pod): PodReferences {
  const spec = pod.spec;
  const parts = [
    ...[...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map(containerReferences),
    ...(spec?.volumes ?? []).map(volumeReferences),
  ];
  // A kubelet pulls without a pull secret that does not exist, so those are always optional.
  const pullSecrets = (spec?.imagePullSecrets ?? []).flatMap((entry) =>
    reference({ ...entry, optional: true }),
  );
  const configMaps = summarise(parts.flatMap((part) => part.configMaps));
  const secrets = summarise([...parts.flatMap((part) => part.secrets), ...pullSecrets]);
  return {
    configMaps: configMaps.names,
    secrets: secrets.names,
    serviceAccountName: serviceAccountName(pod),
    optionalConfigMaps: configMaps.optional,
    optionalSecrets: secrets.optional,
    claims: claimNames(spec?.volumes ?? []),
  };
}

/** A claim costs three reads: the claim, the PersistentVolume bound to it and that volume's Secret. */
export const READS_PER_CLAIM = 3;

/**
 * What reading the pod's references costs: its distinct ConfigMaps and Secrets, the distinct tokens
 * its projected volumes ask for (the automounted one is not counted: it needs the ServiceAccount read
 * first) and three reads per claim. Compared with MAX_POD_REFERENCES by every reader and by the check.
 */
export function referenceCount(pod: V1Pod, references: PodReferences = podReferences(pod)): number {
  return (
    references.configMaps.length +
    references.secrets.length +
    references.claims.length * READS_PER_CLAIM +
    serviceAccountTokenRequests(pod, undefined).length
  );
}
