// What the connector knows of its container groups, learned from periodic lists of the resource group
// and from instance-view GETs. Which groups are read, and how many, is read-budget.ts's decision: this
// module only says which groups a list showed changed.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { TAGS } from '../contract/index.ts';
import { listOf } from './aci-shapes.ts';
import { isProvisioning } from './status.ts';

export interface TrackedGroup {
  name: string;
  /** The latest list entry, trimmed to its name, tags and provisioning state (listEntry). */
  listed: ContainerGroup;
  /** The latest GET, with instance views; undefined until read. */
  detail: ContainerGroup | undefined;
  detailReadAt: number | undefined;
  /** provisioningState of the last GET, to see changes in the list. */
  detailState: string | undefined;
  /** When this connector sent the create; a list that does not show it yet is not trusted before a grace. */
  createdAt: number | undefined;
  /**
   * Since when the group is known to be provisioning (from the create, or from the first read that
   * showed it so after a restart); undefined once it is not.
   */
  provisioningSince: number | undefined;
}

export interface Ownership {
  nodeName: string;
  clusterId: string;
}

export function isOwnedBy(group: ContainerGroup, owner: Ownership): boolean {
  return group.tags?.[TAGS.nodeName] === owner.nodeName && group.tags[TAGS.clusterId] === owner.clusterId;
}

/** Who a group belongs to, by its tags, for a message about a group that is not ours. */
export function describeOwner(group: ContainerGroup): string {
  const tags = group.tags ?? {};
  const cluster = tags[TAGS.clusterId];
  const node = tags[TAGS.nodeName];
  if (cluster === undefined && node === undefined)
    return 'nobody this connector knows (it has no aci-burst tags)';
  return `cluster ${cluster ?? '?'}, node ${node ?? '?'}, pod ${podKeyOf(group) ?? '?'}`;
}

export function podUidOf(group: ContainerGroup): string | undefined {
  return group.tags?.[TAGS.podUid];
}

export function podKeyOf(group: ContainerGroup): string | undefined {
  const namespace = group.tags?.[TAGS.namespace];
  const name = group.tags?.[TAGS.podName];
  return namespace !== undefined && name !== undefined ? `${namespace}/${name}` : undefined;
}

export interface ListOutcome {
  /** Groups that are new or whose provisioning state changed since they were last read. */
  changed: string[];
  /** Groups that disappeared from the list (deleted outside, or never created). */
  vanished: TrackedGroup[];
}

export class GroupTracker {
  private readonly groups = new Map<string, TrackedGroup>();
  /** Group names by the pod key they are tagged with: every reconcile looks its pod's groups up. */
  private readonly byPod = new Map<string, Set<string>>();
  private readonly podOfGroup = new Map<string, string>();
  /** Groups of the resource group this connector does not own (another cluster's or node's), by name. */
  private foreign = new Map<string, ContainerGroup>();
  private readonly owner: Ownership;
  private listedOnce = false;

  constructor(owner: Ownership) {
    this.owner = owner;
  }

  /** True after the first complete list: before it, a missing group may simply not be known yet. */
  get synced(): boolean {
    return this.listedOnce;
  }

  get(name: string): TrackedGroup | undefined {
    return this.groups.get(name);
  }

  all(): TrackedGroup[] {
    return [...this.groups.values()];
  }

  /** Every group this connector owns that is tagged with the pod `namespace/name`, whatever its name. */
  groupsOf(podKey: string): TrackedGroup[] {
    const names = this.byPod.get(podKey);
    if (names === undefined) return [];
    return [...names].flatMap((name) => this.groups.get(name) ?? []);
  }

  private put(tracked: TrackedGroup): void {
    this.groups.set(tracked.name, tracked);
    this.reindex(tracked.name, podKeyOf(tracked.listed));
  }

  private remove(name: string): void {
    this.groups.delete(name);
    this.reindex(name, undefined);
  }

  private reindex(name: string, podKey: string | undefined): void {
    const before = this.podOfGroup.get(name);
    if (before === podKey) return;
    if (before !== undefined) {
      const names = this.byPod.get(before);
      names?.delete(name);
      if (names?.size === 0) this.byPod.delete(before);
    }
    if (podKey === undefined) {
      this.podOfGroup.delete(name);
      return;
    }
    this.podOfGroup.set(name, podKey);
    const names = this.byPod.get(podKey) ?? new Set<string>();
    names.add(name);
    this.byPod.set(podKey, names);
  }

  /** The group of that name someone else owns, as the last list or read showed it. */
  foreignGroup(name: string): ContainerGroup | undefined {
    return this.foreign.get(name);
  }

  /**
   * Takes a complete list of the resource group, as list entries (ContainerGroupApi.list). Groups other clusters or nodes own are never tracked,
   * only remembered by name so that this connector does not create over them.
   * `createGraceMs`: how long a group this connector created may be missing from lists (ARM lists
   * are eventually consistent) before it counts as vanished.
   */
  applyList(listed: ContainerGroup[], options: { now: number; createGraceMs: number }): ListOutcome {
    const seen = new Set<string>();
    const changed: string[] = [];
    const foreign = new Map<string, ContainerGroup>();
    for (const group of listed) {
      if (group.name === undefined) continue;
      if (!isOwnedBy(group, this.owner)) {
        foreign.set(group.name, group);
        continue;
      }
      seen.add(group.name);
      const tracked = this.groups.get(group.name);
      if (tracked === undefined) {
        this.put(blank(group.name, group));
        changed.push(group.name);
        continue;
      }
      // A list that began before this connector re-created the group (a replaced pod) still shows the
      // old one; within the create grace it must not overwrite the new group's identity.
      const recentlyCreated =
        tracked.createdAt !== undefined && options.now - tracked.createdAt < options.createGraceMs;
      if (recentlyCreated && podUidOf(group) !== podUidOf(tracked.listed)) continue;
      tracked.listed = group;
      this.reindex(tracked.name, podKeyOf(group));
      if (group.provisioningState !== tracked.detailState) changed.push(group.name);
    }
    const vanished: TrackedGroup[] = [];
    for (const tracked of this.groups.values()) {
      if (seen.has(tracked.name)) continue;
      if (tracked.createdAt !== undefined && options.now - tracked.createdAt < options.createGraceMs)
        continue;
      vanished.push(tracked);
      this.remove(tracked.name);
    }
    this.foreign = foreign;
    this.listedOnce = true;
    return { changed, vanished };
  }

  /** Records a GET; `undefined` means ARM said the group does not exist. */
  applyDetail(name: string, detail: ContainerGroup | undefined, now: number): void {
    if (detail === undefined || !isOwnedBy(detail, this.owner)) {
      // Gone, or replaced by someone else's group of the same name: no longer ours to manage.
      this.remove(name);
      if (detail !== undefined) this.foreign.set(name, listEntry(detail));
      return;
    }
    const kept = detailEntry(detail);
    const tracked = this.groups.get(name) ?? blank(name, kept);
    tracked.listed = kept;
    tracked.detail = kept;
    tracked.detailReadAt = now;
    tracked.detailState = detail.provisioningState;
    tracked.provisioningSince = isProvisioning(detail) ? (tracked.provisioningSince ?? now) : undefined;
    this.put(tracked);
  }

  /** Records a create this connector sent, so the next lists do not call it vanished too early. */
  applyCreate(name: string, group: ContainerGroup, now: number): void {
    this.put({
      ...blank(name, listEntry({ ...group, provisioningState: 'Pending' })),
      createdAt: now,
      provisioningSince: now,
    });
  }

  forget(name: string): void {
    this.remove(name);
  }
}

/**
 * What is kept of a list entry: who owns it (the tags) and how far it got. The rest of the spec would
 * cost kilobytes per group for nothing (10,000 groups are listed every interval).
 */
export function listEntry(group: ContainerGroup): ContainerGroup {
  return {
    name: group.name,
    tags: group.tags,
    provisioningState: group.provisioningState,
    osType: group.osType,
    containers: [],
  };
}

/**
 * What is kept of a GET: what the pod's status, its events, its hooks and the read plan are made
 * from (states, instance views, the IP address). The spec (environment, volumes, probes, command)
 * is this connector's own translation of the pod and never read back: kept, it would cost kilobytes
 * per group at 10,000 groups.
 */
function detailEntry(group: ContainerGroup): ContainerGroup {
  return {
    ...listEntry(group),
    ipAddress: group.ipAddress,
    instanceView: group.instanceView,
    containers: listOf(group.containers).map(({ name, image, resources, instanceView }) => ({
      name,
      image,
      resources,
      instanceView,
    })),
    initContainers: listOf(group.initContainers).map(({ name, image, instanceView }) => ({
      name,
      image,
      instanceView,
    })),
  };
}

function blank(name: string, listed: ContainerGroup): TrackedGroup {
  return {
    name,
    listed,
    detail: undefined,
    detailReadAt: undefined,
    detailState: undefined,
    createdAt: undefined,
    provisioningSince: undefined,
  };
}
