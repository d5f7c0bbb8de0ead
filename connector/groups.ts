// What the connector knows of its container groups, learned from periodic lists of the resource group
// and from instance-view GETs made only when a group's state changed or its view went stale. ARM reads
// therefore stay bounded whatever the pod count: one paged list per interval, plus at most
// `maxReadsPerCycle` GETs.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { TAGS } from '../contract/index.ts';
import { isProvisioning } from './status.ts';

export interface TrackedGroup {
  name: string;
  /** The latest list entry (no instance view), or the group as created before a list has seen it. */
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
  /** Groups whose state changed or whose view is stale, most urgent first, within the read budget. */
  toRead: string[];
  /** Groups that disappeared from the list (deleted outside, or never created). */
  vanished: TrackedGroup[];
}

export class GroupTracker {
  private readonly groups = new Map<string, TrackedGroup>();
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
    return this.all().filter((tracked) => podKeyOf(tracked.listed) === podKey);
  }

  /** The group of that name someone else owns, as the last list or read showed it. */
  foreignGroup(name: string): ContainerGroup | undefined {
    return this.foreign.get(name);
  }

  /**
   * Takes a complete list of the resource group. Groups other clusters or nodes own are never tracked,
   * only remembered by name so that this connector does not create over them.
   * `createGraceMs`: how long a group this connector created may be missing from lists (ARM lists
   * are eventually consistent) before it counts as vanished.
   */
  applyList(
    listed: ContainerGroup[],
    options: { now: number; createGraceMs: number; refreshIntervalMs: number; maxReads: number },
  ): ListOutcome {
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
        this.groups.set(group.name, blank(group.name, group));
        changed.push(group.name);
        continue;
      }
      // A list that began before this connector re-created the group (a replaced pod) still shows the
      // old one; within the create grace it must not overwrite the new group's identity.
      const recentlyCreated =
        tracked.createdAt !== undefined && options.now - tracked.createdAt < options.createGraceMs;
      if (recentlyCreated && podUidOf(group) !== podUidOf(tracked.listed)) continue;
      tracked.listed = group;
      if (group.provisioningState !== tracked.detailState) changed.push(group.name);
    }
    const vanished: TrackedGroup[] = [];
    for (const tracked of this.groups.values()) {
      if (seen.has(tracked.name)) continue;
      if (tracked.createdAt !== undefined && options.now - tracked.createdAt < options.createGraceMs)
        continue;
      vanished.push(tracked);
      this.groups.delete(tracked.name);
    }
    this.foreign = foreign;
    this.listedOnce = true;
    const stale = this.all()
      .filter((t) => !changed.includes(t.name) && isStale(t, options.now, options.refreshIntervalMs))
      .sort((a, b) => (a.detailReadAt ?? 0) - (b.detailReadAt ?? 0))
      .map((t) => t.name);
    return { toRead: [...changed, ...stale].slice(0, options.maxReads), vanished };
  }

  /** Records a GET; `undefined` means ARM said the group does not exist. */
  applyDetail(name: string, detail: ContainerGroup | undefined, now: number): void {
    if (detail === undefined || !isOwnedBy(detail, this.owner)) {
      // Gone, or replaced by someone else's group of the same name: no longer ours to manage.
      this.groups.delete(name);
      if (detail !== undefined) this.foreign.set(name, detail);
      return;
    }
    const tracked = this.groups.get(name) ?? blank(name, detail);
    tracked.listed = detail;
    tracked.detail = detail;
    tracked.detailReadAt = now;
    tracked.detailState = detail.provisioningState;
    tracked.provisioningSince = isProvisioning(detail) ? (tracked.provisioningSince ?? now) : undefined;
    this.groups.set(name, tracked);
  }

  /** Records a create this connector sent, so the next lists do not call it vanished too early. */
  applyCreate(name: string, group: ContainerGroup, now: number): void {
    this.groups.set(name, {
      ...blank(name, { ...group, provisioningState: 'Pending' }),
      createdAt: now,
      provisioningSince: now,
    });
  }

  forget(name: string): void {
    this.groups.delete(name);
  }
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

/**
 * A live group's instance view is re-read every refresh interval; a group whose containers all ended
 * (or that failed) changes no more, so it is not re-read.
 */
function isStale(tracked: TrackedGroup, now: number, refreshIntervalMs: number): boolean {
  if (tracked.detail === undefined) return true;
  const state = tracked.detail.instanceView?.state;
  if (state === 'Succeeded' || state === 'Failed' || state === 'Stopped') return false;
  return now - (tracked.detailReadAt ?? 0) >= refreshIntervalMs;
}
