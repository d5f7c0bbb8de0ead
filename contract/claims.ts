// PersistentVolumeClaims. ACI mounts Azure Files shares only, so a claim runs on ACI when it is bound
// to a PersistentVolume that names an Azure Files share: the Azure Files CSI driver's static volume
// (file.csi.azure.com with volumeAttributes, volumeHandle and nodeStageSecretRef) or the in-tree
// azureFile type. Whether it is, only the claim and its volume say, not the pod: every problem found
// here makes the pod wait (a kubelet keeps such a pod ContainerCreating and retries the mount), and the
// webhook denies a `required` pod with the same text.
import type {
  V1AzureFilePersistentVolumeSource,
  V1CSIPersistentVolumeSource,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Volume,
} from '@kubernetes/client-node';
import { awaitReference, type Context, namespaceOf } from './context.ts';
import type { ClaimedVolumes } from './types.ts';

export const AZURE_FILE_DRIVER = 'file.csi.azure.com';

/** The driver's documented default for volumeAttributes.secretNamespace. */
const CSI_DEFAULT_SECRET_NAMESPACE = 'default';
const KEEP_ON_NODE = 'or keep the pod on a real node (label it azure.com/aci=never)';

/** A share a claim's volume names, and where its account name and key are. */
export interface ClaimedShare {
  shareName: string;
  /** From volumeAttributes.storageAccount or the volumeHandle; the Secret's name wins when it has one. */
  accountName: string | undefined;
  secret: { namespace: string; name: string };
  readOnly: boolean;
  /** The field of the PersistentVolume that names the Secret, for messages. */
  secretField: string;
}

/**
 * The Secret holding an Azure Files volume's account name and key, where the Node authorizer looks
 * for it (the connector reads it as its node): the CSI volume's nodeStageSecretRef (or
 * nodePublishSecretRef), whose namespace defaults as the driver's does; the in-tree volume's
 * secretName in secretNamespace, else in the namespace of the claim it is bound to.
 */
export function volumeSecret(
  volume: V1PersistentVolume,
  claimNamespace: string,
): { namespace: string; name: string } | undefined {
  const { csi, azureFile } = volume.spec ?? {};
  if (csi?.driver === AZURE_FILE_DRIVER) {
    const reference = csi.nodeStageSecretRef ?? csi.nodePublishSecretRef;
    if (!reference?.name) return undefined;
    const fallback = csi.volumeAttributes?.secretNamespace ?? CSI_DEFAULT_SECRET_NAMESPACE;
    return { namespace: reference.namespace ?? fallback, name: reference.name };
  }
  if (azureFile?.secretName) {
    return { namespace: azureFile.secretNamespace || claimNamespace, name: azureFile.secretName };
  }
  return undefined;
}

/**
 * The volumeHandle of a static Azure Files volume: `resourceGroup#accountName#shareName[#...]`
 * (the driver's documented form). Split once, so a handle of any length costs its size.
 */
function handleParts(handle: string | undefined): { account?: string; share?: string } {
  const parts = (handle ?? '').split('#', 3);
  if (parts.length < 3) return {};
  return { ...(parts[1] && { account: parts[1] }), ...(parts[2] && { share: parts[2] }) };
}

function csiShare(
  context: Context,
  volume: V1PersistentVolume,
  csi: V1CSIPersistentVolumeSource,
  claimPath: string,
): ClaimedShare | undefined {
  const name = volume.metadata?.name ?? '';
  const attributes = csi.volumeAttributes ?? {};
  const protocol = attributes.protocol ?? 'smb';
  if (protocol.toLowerCase() !== 'smb') {
    awaitReference(
      context,
      claimPath,
      `PersistentVolume "${name}" mounts its share over ${protocol}, and ACI mounts Azure Files shares over SMB only`,
      `bind the claim to an SMB share, ${KEEP_ON_NODE}`,
    );
    return undefined;
  }
  const fromHandle = handleParts(csi.volumeHandle);
  const shareName = attributes.shareName ?? attributes.sharename ?? fromHandle.share;
  const secret = volumeSecret(volume, '');
  if (!shareName) {
    awaitReference(
      context,
      claimPath,
      `PersistentVolume "${name}" names no share (spec.csi.volumeAttributes.shareName)`,
      'set volumeAttributes.shareName on the PersistentVolume',
    );
    return undefined;
  }
  if (!secret) {
    // The Node authorizer lets a node read only the Secrets a volume names in its secret references,
    // not one named in volumeAttributes; the connector acts as its node.
    const named =
      attributes.secretName === undefined ? '' : ` (volumeAttributes names "${attributes.secretName}")`;
    awaitReference(
      context,
      claimPath,
      `PersistentVolume "${name}" names no Secret with the storage account's key in spec.csi.nodeStageSecretRef${named}`,
      `set nodeStageSecretRef (name and namespace) to a Secret with azurestorageaccountname and azurestorageaccountkey, ${KEEP_ON_NODE}`,
    );
    return undefined;
  }
  return {
    shareName,
    accountName: attributes.storageAccount ?? fromHandle.account,
    secret,
    readOnly: csi.readOnly === true,
    secretField: csi.nodeStageSecretRef ? 'spec.csi.nodeStageSecretRef' : 'spec.csi.nodePublishSecretRef',
  };
}

function inTreeShare(
  volume: V1PersistentVolume,
  source: V1AzureFilePersistentVolumeSource,
  claimNamespace: string,
): ClaimedShare {
  return {
    shareName: source.shareName,
    accountName: undefined,
    secret: volumeSecret(volume, claimNamespace) ?? { namespace: claimNamespace, name: source.secretName },
    readOnly: source.readOnly === true,
    secretField: 'spec.azureFile.secretName',
  };
}

/** What kind of volume a PersistentVolume is, for the refusal: `hostPath`, `csi driver disk.csi.azure.com`. */
function volumeKind(volume: V1PersistentVolume): string {
  const spec = volume.spec ?? {};
  if (spec.csi) return `CSI driver ${spec.csi.driver}`;
  const known = Object.entries(spec).find(
    ([key, value]) =>
      value !== undefined &&
      typeof value === 'object' &&
      !['accessModes', 'capacity', 'claimRef', 'mountOptions', 'nodeAffinity'].includes(key),
  );
  return known?.[0] ?? 'unknown kind';
}

function boundClaim(
  context: Context,
  claimed: ClaimedVolumes,
  claimName: string,
  path: string,
): V1PersistentVolumeClaim | undefined {
  const namespace = namespaceOf(context.pod);
  const claim = claimed.claims.get(claimName);
  if (!claim) {
    awaitReference(
      context,
      `${path}.claimName`,
      `PersistentVolumeClaim "${claimName}" does not exist in namespace "${namespace}"`,
      'create the claim',
    );
    return undefined;
  }
  const volumeName = claim.spec?.volumeName;
  if (claim.status?.phase !== 'Bound' || !volumeName) {
    awaitReference(
      context,
      `${path}.claimName`,
      `PersistentVolumeClaim "${claimName}" is not bound to a PersistentVolume yet (phase ${claim.status?.phase ?? 'unknown'})`,
      `wait for it to bind, or create a PersistentVolume of ${AZURE_FILE_DRIVER} for it (static provisioning)`,
    );
    return undefined;
  }
  return claim;
}

/** The volume's Azure Files source, or `undefined` with the reason recorded when ACI cannot mount it. */
function azureFilesSource(
  context: Context,
  persistent: V1PersistentVolume,
  claimName: string,
  claimPath: string,
):
  | { azureCsi: V1CSIPersistentVolumeSource; azureFile?: undefined }
  | { azureCsi?: undefined; azureFile: V1AzureFilePersistentVolumeSource }
  | undefined {
  const volumeName = persistent.metadata?.name ?? '';
  const { csi, azureFile } = persistent.spec ?? {};
  const azureCsi = csi?.driver === AZURE_FILE_DRIVER ? csi : undefined;
  if (!azureCsi && !azureFile) {
    awaitReference(
      context,
      claimPath,
      `claim "${claimName}" is bound to PersistentVolume "${volumeName}" (${volumeKind(persistent)}), and ACI can mount only Azure Files shares (${AZURE_FILE_DRIVER} or azureFile)`,
      `bind the claim to an Azure Files PersistentVolume, ${KEEP_ON_NODE}`,
    );
    return undefined;
  }
  if ((persistent.spec?.mountOptions ?? []).length > 0) {
    awaitReference(
      context,
      claimPath,
      `PersistentVolume "${volumeName}" sets mountOptions, and ACI mounts Azure Files shares with its own options`,
      `remove spec.mountOptions from the PersistentVolume, ${KEEP_ON_NODE}`,
    );
    return undefined;
  }
  return azureCsi ? { azureCsi } : azureFile && { azureFile };
}

/**
 * The Azure Files share a `persistentVolumeClaim` volume ends at, or `undefined` with the reason
 * recorded. Only called when the claims were read (`context.objects.claimed`).
 */
export function claimedShare(
  context: Context,
  claimed: ClaimedVolumes,
  volume: V1Volume,
  path: string,
): ClaimedShare | undefined {
  const source = volume.persistentVolumeClaim;
  if (!source) return undefined;
  const claimPath = `${path}.persistentVolumeClaim`;
  const claim = boundClaim(context, claimed, source.claimName, claimPath);
  if (!claim) return undefined;
  const volumeName = claim.spec?.volumeName ?? '';
  const persistent = claimed.volumes.get(volumeName);
  if (!persistent) {
    awaitReference(
      context,
      `${claimPath}.claimName`,
      `PersistentVolume "${volumeName}", to which claim "${source.claimName}" is bound, does not exist`,
      'wait for the claim to be bound again, or recreate the PersistentVolume',
    );
    return undefined;
  }
  const azure = azureFilesSource(context, persistent, source.claimName, claimPath);
  if (!azure) return undefined;
  const { azureCsi, azureFile } = azure;
  const share = azureCsi
    ? csiShare(context, persistent, azureCsi, claimPath)
    : inTreeShare(persistent, azureFile, namespaceOf(context.pod));
  if (!share) return undefined;
  return { ...share, readOnly: share.readOnly || source.readOnly === true };
}
