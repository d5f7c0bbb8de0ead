// Volumes. ACI has four kinds: emptyDir, azureFile, gitRepo and secret (files given as base64 at
// creation). ConfigMap, Secret, projected and downward-API volumes become secret volumes holding the
// files a kubelet would write; Azure Files shares, inline or claimed (claims.ts), are mounted by
// account name and key from their Secret; everything that needs a host or a disk is refused with a
// way out.
import { hash } from 'node:crypto';
import type { Volume, VolumeMount } from '@azure/arm-containerinstance';
import type {
  V1Container,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Volume,
  V1VolumeMount,
  V1VolumeProjection,
} from '@kubernetes/client-node';
import {
  awaitReference,
  awaitSuppliedValue,
  type Context,
  namespaceOf,
  type ObjectReference,
  ownValue,
  readKey,
  readObject,
  refuse,
  remembered,
  secretContents,
  spend,
} from './context.ts';
import { AZURE_FILE_DRIVER, claimedShare } from './claims.ts';
import { fieldValue, resourceValue } from './downward.ts';
import { containerNamed } from './environment.ts';
import {
  INJECTED_TOKEN_EXPIRATION_SECONDS,
  needsInjectedTokenVolume,
  SERVICE_ACCOUNT_MOUNT_PATH,
  SERVICE_ACCOUNT_VOLUME,
  suppliedToken,
} from './service-account.ts';

/** The mode Kubernetes gives projected files by default (0644), and the one ACI's files get. */
const DEFAULT_FILE_MODE = 0o644;
const ACCOUNT_NAME_KEY = 'azurestorageaccountname';
const ACCOUNT_KEY_KEY = 'azurestorageaccountkey';

type Files = Map<string, Buffer>;

/** Adds a file, charging its size to the group's content budget; nothing is added past the budget. */
function addFile(
  context: Context,
  files: Files,
  path: string,
  file: { name: string; content: Buffer },
): void {
  if (spend(context, path, file.name.length + file.content.length)) files.set(file.name, file.content);
}

interface PlannedVolume {
  /** Secret-file volumes are read-only in Kubernetes, and so are read-only claims; their mounts stay so. */
  readOnly: boolean;
  /** emptyDir only: one ACI volume per subPath, when no container mounts the volume whole. */
  subPaths: Map<string, string> | undefined;
}

export interface VolumePlan {
  volumes: Volume[];
  planned: Map<string, PlannedVolume>;
  /** The token volume we add when the ServiceAccount admission plugin did not. */
  injectedMount: VolumeMount | undefined;
}

const REFUSED_KINDS: Record<string, { message: string; fix: string }> = {
  hostPath: {
    message: 'mounts a path of the host, and an ACI container group has no host to share',
    fix: 'use an emptyDir, configMap, secret or azureFile volume instead',
  },
  ephemeral: {
    message: 'asks for a provisioned disk, and ACI can mount only Azure Files shares',
    fix: "use an emptyDir volume (ACI backs it with the group's disk)",
  },
  image: {
    message: 'mounts an OCI image, which ACI cannot do',
    fix: "copy the files into the container's image, or fetch them in an init container",
  },
};
const NETWORK_DISK_FIX = `use an azureFile volume or an inline ${AZURE_FILE_DRIVER} CSI volume`;

/** Which source a volume or projection names: its one set field besides `ignored` ones. */
function sourceKind(source: object, ignored: readonly string[]): string {
  const entry = Object.entries(source).find(([key, value]) => value !== undefined && !ignored.includes(key));
  return entry?.[0] ?? 'unknown';
}

function refuseKind(context: Context, volume: V1Volume, index: number): void {
  const kind = sourceKind(volume, ['name']);
  const known = ownValue(REFUSED_KINDS, kind);
  refuse(
    context,
    `spec.volumes[${index}].${kind}`,
    `volume "${volume.name}" ${known?.message ?? `is of kind ${kind}, which ACI cannot mount`}`,
    known?.fix ?? NETWORK_DISK_FIX,
  );
}

function refuseMode(context: Context, path: string, mode: number | undefined): void {
  if (mode === undefined || mode === DEFAULT_FILE_MODE) return;
  refuse(
    context,
    path,
    `ACI cannot set file modes: its files get 0644, not 0${mode.toString(8)}`,
    "remove the mode, or copy the file and chmod it in the container's command or an init container",
  );
}

/** ACI secret volumes are flat: a file in a subfolder is refused (checked before any content is read). */
function isTopLevel(context: Context, path: string, name: string): boolean {
  if (!name.includes('/')) return true;
  refuse(
    context,
    path,
    `"${name}" is in a subfolder, and ACI puts files only at the top of a volume`,
    'use a file name without "/" (mount another volume for the subfolder)',
  );
  return false;
}

/** A ConfigMap's or Secret's keys as files, honouring `items` (with `path` and `mode`) and `optional`. */
function addObjectFiles(
  context: Context,
  files: Files,
  path: string,
  source: ObjectReference & { items?: V1KeyToPath[] | undefined },
): void {
  if (!source.items) {
    // Object keys cannot contain "/", so every key is a top-level file.
    for (const [name, content] of readObject(context, path, source) ?? []) {
      addFile(context, files, path, { name, content });
    }
    return;
  }
  source.items.forEach((item, index) => {
    const itemPath = `${path}.items[${index}]`;
    refuseMode(context, `${itemPath}.mode`, item.mode);
    if (!isTopLevel(context, `${itemPath}.path`, item.path)) return;
    const content = readKey(context, itemPath, { ...source, key: item.key });
    if (content) addFile(context, files, itemPath, { name: item.path, content });
  });
}

function downwardValue(context: Context, item: V1DownwardAPIVolumeFile, path: string): string | undefined {
  if (item.fieldRef) return fieldValue(context, `${path}.fieldRef`, item.fieldRef.fieldPath, true);
  const selector = item.resourceFieldRef;
  if (!selector) return undefined;
  const container = containerNamed(context, selector.containerName ?? '');
  return resourceValue(context, `${path}.resourceFieldRef`, container, selector);
}

function addDownwardFiles(
  context: Context,
  files: Files,
  path: string,
  items: V1DownwardAPIVolumeFile[],
): void {
  items.forEach((item, index) => {
    const itemPath = `${path}.items[${index}]`;
    refuseMode(context, `${itemPath}.mode`, item.mode);
    if (!isTopLevel(context, `${itemPath}.path`, item.path)) return;
    const value = downwardValue(context, item, itemPath);
    if (value !== undefined)
      addFile(context, files, itemPath, { name: item.path, content: Buffer.from(value) });
  });
}

function addProjection(context: Context, files: Files, source: V1VolumeProjection, path: string): void {
  if (source.configMap) {
    addObjectFiles(context, files, `${path}.configMap`, { kind: 'ConfigMap', ...source.configMap });
  } else if (source.secret) {
    addObjectFiles(context, files, `${path}.secret`, { kind: 'Secret', ...source.secret });
  } else if (source.downwardAPI) {
    addDownwardFiles(context, files, `${path}.downwardAPI`, source.downwardAPI.items ?? []);
  } else if (source.serviceAccountToken) {
    const { audience, expirationSeconds, path: name } = source.serviceAccountToken;
    if (!isTopLevel(context, `${path}.serviceAccountToken.path`, name)) return;
    const at = `${path}.serviceAccountToken`;
    const token = suppliedToken(context, at, audience, expirationSeconds);
    if (token !== undefined) addFile(context, files, at, { name, content: Buffer.from(token) });
  } else {
    const kind = sourceKind(source, []);
    refuse(
      context,
      `${path}.${kind}`,
      `ACI cannot project ${kind} into a volume`,
      'use configMap, secret, downwardAPI or serviceAccountToken sources',
    );
  }
}

/** The files of a configMap, secret, projected or downwardAPI volume; `undefined` for other kinds. */
function volumeFiles(context: Context, volume: V1Volume, path: string): Files | undefined {
  const files: Files = new Map();
  const { configMap, secret, projected, downwardAPI } = volume;
  const source = configMap ?? secret ?? projected ?? downwardAPI;
  if (!source) return undefined;
  const kind = configMap ? 'configMap' : secret ? 'secret' : projected ? 'projected' : 'downwardAPI';
  refuseMode(context, `${path}.${kind}.defaultMode`, source.defaultMode);
  if (configMap) addObjectFiles(context, files, `${path}.configMap`, { kind: 'ConfigMap', ...configMap });
  if (secret) {
    const reference = {
      kind: 'Secret' as const,
      name: secret.secretName ?? '',
      optional: secret.optional,
      items: secret.items,
    };
    addObjectFiles(context, files, `${path}.secret`, reference);
  }
  (projected?.sources ?? []).forEach((projection, index) => {
    addProjection(context, files, projection, `${path}.projected.sources[${index}]`);
  });
  if (downwardAPI) addDownwardFiles(context, files, `${path}.downwardAPI`, downwardAPI.items ?? []);
  return files;
}

/** An empty file set becomes an emptyDir: all its sources were optional and absent. */
function filesVolume(name: string, files: Files): Volume {
  if (files.size === 0) return { name, emptyDir: {} };
  const sorted = [...files].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    name,
    secret: Object.fromEntries(sorted.map(([file, content]) => [file, content.toString('base64')])),
  };
}

interface AzureShare {
  at: string;
  shareName: string | undefined;
  secretName: string | undefined;
  readOnly: boolean;
}

/** The share an azureFile volume or an inline Azure Files CSI volume names. */
function azureShare(context: Context, volume: V1Volume, path: string): AzureShare | undefined {
  const { azureFile, csi } = volume;
  if (azureFile) {
    const { shareName, secretName, readOnly = false } = azureFile;
    return { at: `${path}.azureFile`, shareName, secretName, readOnly };
  }
  if (!csi) return undefined;
  if (csi.driver !== AZURE_FILE_DRIVER) {
    refuse(
      context,
      `${path}.csi.driver`,
      `ACI cannot run the CSI driver ${csi.driver}`,
      `use the ${AZURE_FILE_DRIVER} driver (Azure Files) or an azureFile volume`,
    );
    return undefined;
  }
  const attributes = csi.volumeAttributes ?? {};
  if (attributes.mountOptions) {
    refuse(
      context,
      `${path}.csi.volumeAttributes.mountOptions`,
      'ACI mounts Azure Files shares with its own options',
      'remove mountOptions',
    );
  }
  const secretName = attributes.secretName ?? csi.nodePublishSecretRef?.name;
  return { at: `${path}.csi`, shareName: attributes.shareName, secretName, readOnly: csi.readOnly ?? false };
}

/** An Azure Files share: its account name and key come from a Secret, as for a kubelet. */
function azureFileVolume(context: Context, volume: V1Volume, path: string): Volume | undefined {
  const share = azureShare(context, volume, path);
  if (!share) return undefined;
  const { at, shareName, secretName, readOnly } = share;
  if (!secretName || !shareName) {
    refuse(
      context,
      at,
      `volume "${volume.name}" names no ${shareName ? 'secret' : 'share'}`,
      'set secretName and shareName',
    );
    return undefined;
  }
  const secret = { kind: 'Secret' as const, name: secretName, optional: false };
  const account = readKey(context, `${at}.secretName`, { ...secret, key: ACCOUNT_NAME_KEY });
  const key = readKey(context, `${at}.secretName`, { ...secret, key: ACCOUNT_KEY_KEY });
  return {
    name: volume.name,
    azureFile: {
      shareName,
      storageAccountName: account?.toString('utf8').trim() ?? '',
      ...(key ? { storageAccountKey: key.toString('utf8').trim() } : {}),
      ...(readOnly ? { readOnly } : {}),
    },
  };
}

/**
 * A claim bound to an Azure Files volume, mounted by the account name and key of the Secret that
 * volume names. Checking the spec alone, the claim cannot be judged: it stands for a share, unresolved.
 */
function claimVolume(context: Context, volume: V1Volume, path: string): Volume | undefined {
  const claimed = context.objects?.claimed;
  const claimName = volume.persistentVolumeClaim?.claimName ?? '';
  if (!claimed) return { name: volume.name, azureFile: { shareName: claimName, storageAccountName: '' } };
  const share = claimedShare(context, claimed, volume, path);
  if (!share) return undefined;
  const at = `${path}.persistentVolumeClaim`;
  const { namespace, name } = share.secret;
  const secret = claimed.secrets.get(`${namespace}/${name}`);
  if (!secret) {
    awaitReference(
      context,
      at,
      `Secret "${name}" in namespace "${namespace}", named by the claim's PersistentVolume (${share.secretField}), does not exist`,
      `create it with the keys ${ACCOUNT_NAME_KEY} and ${ACCOUNT_KEY_KEY}`,
    );
    return undefined;
  }
  const contents = secretContents(secret);
  const account = contents.get(ACCOUNT_NAME_KEY)?.toString('utf8').trim() ?? share.accountName;
  const key = contents.get(ACCOUNT_KEY_KEY);
  if (account === undefined || key === undefined) {
    awaitReference(
      context,
      at,
      `Secret "${name}" in namespace "${namespace}" has no ${key === undefined ? ACCOUNT_KEY_KEY : ACCOUNT_NAME_KEY}`,
      `add the key to the Secret (it needs ${ACCOUNT_NAME_KEY} and ${ACCOUNT_KEY_KEY})`,
    );
    return undefined;
  }
  return {
    name: volume.name,
    azureFile: {
      shareName: share.shareName,
      storageAccountName: account,
      storageAccountKey: key.toString('utf8').trim(),
      ...(share.readOnly ? { readOnly: true } : {}),
    },
  };
}

function shortHash(text: string): string {
  // The one-shot hash: a pod may name thousands of subPaths, and a Hash object per name costs 5x.
  return hash('sha256', text, 'hex').slice(0, 8);
}

/** Every container's and init container's mounts, by volume name (indexed once per walk). */
function mountsOf(context: Context, name: string): V1VolumeMount[] {
  const byVolume = remembered(context, 'mounts by volume', undefined, () => {
    const spec = context.pod.spec;
    const index = new Map<string, V1VolumeMount[]>();
    for (const container of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      for (const mount of container.volumeMounts ?? []) {
        const mounts = index.get(mount.name) ?? [];
        mounts.push(mount);
        index.set(mount.name, mounts);
      }
    }
    return index;
  });
  return byVolume.get(name) ?? [];
}

/** Which subPaths of each emptyDir the containers mount, and whether any mounts it whole. */
function emptyDirSubPaths(context: Context, name: string): Map<string, string> | undefined {
  const mounts = mountsOf(context, name);
  if (mounts.length === 0 || mounts.some((mount) => !mount.subPath)) return undefined;
  return new Map(
    mounts.map((mount) => [mount.subPath ?? '', `${name.slice(0, 54)}-${shortHash(mount.subPath ?? '')}`]),
  );
}

function planClaim(context: Context, volume: V1Volume, path: string, plan: VolumePlan): void {
  const translated = claimVolume(context, volume, path);
  if (translated) plan.volumes.push(translated);
  // A read-only claim or volume makes every mount read-only, as a kubelet mounts it.
  const readOnly =
    translated?.azureFile?.readOnly === true || volume.persistentVolumeClaim?.readOnly === true;
  plan.planned.set(volume.name, { readOnly, subPaths: undefined });
}

function planVolume(context: Context, volume: V1Volume, index: number, plan: VolumePlan): void {
  const path = `spec.volumes[${index}]`;
  const files = volumeFiles(context, volume, path);
  if (files) {
    plan.volumes.push(filesVolume(volume.name, files));
    plan.planned.set(volume.name, { readOnly: true, subPaths: undefined });
  } else if (volume.emptyDir) {
    const subPaths = emptyDirSubPaths(context, volume.name);
    for (const name of subPaths?.values() ?? [volume.name]) plan.volumes.push({ name, emptyDir: {} });
    plan.planned.set(volume.name, { readOnly: false, subPaths });
  } else if (volume.gitRepo) {
    const { repository, directory, revision } = volume.gitRepo;
    plan.volumes.push({
      name: volume.name,
      gitRepo: { repository, ...(directory ? { directory } : {}), ...(revision ? { revision } : {}) },
    });
    plan.planned.set(volume.name, { readOnly: false, subPaths: undefined });
  } else if (volume.azureFile || volume.csi) {
    const translated = azureFileVolume(context, volume, path);
    if (translated) plan.volumes.push(translated);
    plan.planned.set(volume.name, { readOnly: false, subPaths: undefined });
  } else if (volume.persistentVolumeClaim) {
    planClaim(context, volume, path, plan);
  } else {
    refuseKind(context, volume, index);
  }
}

/** The token, CA and namespace files the ServiceAccount admission plugin would have projected. */
function injectTokenVolume(context: Context, plan: VolumePlan): void {
  const objects = context.objects;
  if (!objects || !needsInjectedTokenVolume(context.pod, objects.serviceAccount)) return;
  const path = 'spec.automountServiceAccountToken';
  const files: Files = new Map([['namespace', Buffer.from(namespaceOf(context.pod))]]);
  const token = suppliedToken(context, path, undefined, INJECTED_TOKEN_EXPIRATION_SECONDS);
  if (token !== undefined) files.set('token', Buffer.from(token));
  if (objects.clusterCaPem !== undefined) files.set('ca.crt', Buffer.from(objects.clusterCaPem));
  else if (objects.serviceAccountTokens)
    awaitSuppliedValue(context, path, 'the cluster CA certificate (ca.crt)');
  plan.volumes.push(filesVolume(SERVICE_ACCOUNT_VOLUME, files));
  plan.injectedMount = {
    name: SERVICE_ACCOUNT_VOLUME,
    mountPath: SERVICE_ACCOUNT_MOUNT_PATH,
    readOnly: true,
  };
}

export function planVolumes(context: Context): VolumePlan {
  const plan: VolumePlan = { volumes: [], planned: new Map(), injectedMount: undefined };
  (context.pod.spec?.volumes ?? []).forEach((volume, index) => {
    planVolume(context, volume, index, plan);
  });
  injectTokenVolume(context, plan);
  if (plan.volumes.length > context.limits.maxVolumesPerGroup) {
    refuse(
      context,
      'spec.volumes',
      `the pod needs ${plan.volumes.length} ACI volumes, and a container group can have at most ${context.limits.maxVolumesPerGroup}`,
      'combine volumes (a projected volume holds several ConfigMaps and Secrets), or split the pod',
    );
  }
  return plan;
}

function mountName(
  context: Context,
  planned: PlannedVolume,
  mount: V1VolumeMount,
  path: string,
): string | undefined {
  if (!mount.subPath) return mount.name;
  const name = planned.subPaths?.get(mount.subPath);
  if (name === undefined) {
    refuse(
      context,
      `${path}.subPath`,
      'ACI mounts whole volumes only (a subPath maps only for emptyDir volumes no container mounts whole)',
      'mount the whole volume at a directory of its own and point the program there',
    );
  }
  return name;
}

function refuseMountFeatures(context: Context, mount: V1VolumeMount, path: string): void {
  if (mount.subPathExpr) {
    refuse(context, `${path}.subPathExpr`, 'ACI mounts whole volumes only', 'remove subPathExpr');
  }
  if (mount.mountPropagation && mount.mountPropagation !== 'None') {
    refuse(
      context,
      `${path}.mountPropagation`,
      'ACI cannot propagate mounts between containers',
      'remove mountPropagation',
    );
  }
  if (mount.recursiveReadOnly === 'Enabled') {
    refuse(
      context,
      `${path}.recursiveReadOnly`,
      'ACI cannot promise recursively read-only mounts',
      'use IfPossible or remove it',
    );
  }
}

/** The container's mounts on ACI, plus the token volume when we added it. */
export function translateMounts(
  context: Context,
  plan: VolumePlan,
  container: V1Container,
  path: string,
): VolumeMount[] {
  const mounts = (container.volumeMounts ?? []).flatMap((mount, index) => {
    const at = `${path}.volumeMounts[${index}]`;
    const planned = plan.planned.get(mount.name);
    if (!planned) return []; // its volume was refused, with its own problem
    refuseMountFeatures(context, mount, at);
    const name = mountName(context, planned, mount, at);
    if (name === undefined) return [];
    const readOnly = planned.readOnly || mount.readOnly === true;
    return [{ name, mountPath: mount.mountPath, ...(readOnly ? { readOnly } : {}) }];
  });
  return plan.injectedMount ? [...mounts, plan.injectedMount] : mounts;
}
