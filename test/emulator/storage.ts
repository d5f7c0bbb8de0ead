// Azure Files as ACI sees it: the storage accounts and shares the emulator knows (fixtures), and
// whether a group's azureFile volume would mount. Azure accepts the PUT whatever the credentials and
// fails the mount later: the container stays Waiting and the group shows the Warning event
// FailedMountAzureFileVolume "Failed to mount Azure File Volume." (seen in Azure's instance views,
// MicrosoftDocs/azure-docs#70920, for a wrong key and for a missing share alike).
import type { AzureFileShare, GroupSpec } from './spec.ts';

export interface StorageAccountFixture {
  name: string;
  /** The account key (base64, as Azure hands it out). */
  key: string;
  shares: readonly string[];
}

export const MOUNT_FAILED_EVENT = {
  name: 'FailedMountAzureFileVolume',
  message: 'Failed to mount Azure File Volume.',
  type: 'Warning',
} as const;

/** Why the share would not mount; undefined when it would. Names are case-insensitive as in Azure. */
export function shareMountFailure(
  share: AzureFileShare,
  accounts: readonly StorageAccountFixture[],
): string | undefined {
  const account = accounts.find((a) => a.name.toLowerCase() === share.storageAccountName.toLowerCase());
  if (!account) return `storage account '${share.storageAccountName}' does not exist`;
  if (share.storageAccountKey !== account.key) return `the key of storage account '${account.name}' is wrong`;
  if (!account.shares.some((name) => name.toLowerCase() === share.shareName.toLowerCase())) {
    return `share '${share.shareName}' does not exist in storage account '${account.name}'`;
  }
  return undefined;
}

/**
 * The containers of the group that mount a share that would not mount, with the reason. Without
 * fixtures (`undefined`), every share mounts, as before storage was emulated.
 */
export function containersFailingMounts(
  spec: GroupSpec,
  accounts: readonly StorageAccountFixture[] | undefined,
): Map<string, string> {
  const failing = new Map<string, string>();
  if (accounts === undefined) return failing;
  const failures = new Map<string, string>();
  for (const volume of spec.volumes) {
    const reason = volume.share && shareMountFailure(volume.share, accounts);
    if (reason) failures.set(volume.name, reason);
  }
  for (const container of [...spec.initContainers, ...spec.containers]) {
    const mount = container.volumeMounts.find((m) => failures.has(m.name));
    if (mount) failing.set(container.name, failures.get(mount.name) ?? '');
  }
  return failing;
}
