// The emulator's memory: resource groups, container groups, operations, exec sessions, throttling and
// fault state. Every method takes `now`; the decisions themselves are the pure modules' (spec,
// lifecycle, limits, faults, views). The HTTP layer (arm-routes.ts) only translates.
import { randomUUID } from 'node:crypto';
import type { AciLimits } from '../../contract/index.ts';
import { ArmError } from './arm-error.ts';
import { behaviourFor } from './behaviour.ts';
import { containersFailingMounts, type StorageAccountFixture } from './storage.ts';
import {
  decideFaults,
  newInjector,
  type Fault,
  type FaultInjector,
  type FaultRequest,
  type FaultRule,
} from './faults.ts';
import {
  advanceGroup,
  beginProvisioning,
  isTransitioning,
  killContainer,
  logLinesAt,
  restartContainer,
  stallProvisioning,
  stopGroup,
  type ProvisioningKind,
  type Timeline,
} from './lifecycle.ts';
import {
  coresOf,
  exceededQuota,
  hitWindow,
  newBucket,
  newWindow,
  takeToken,
  type Quotas,
  type RateLimits,
  type SlidingWindow,
  type TokenBucket,
} from './limits.ts';
import {
  normalizeLocation,
  parseGroupSpec,
  type ContainerSpec,
  type GroupSpec,
  type SpecContext,
} from './spec.ts';
import {
  checkGroupIdentities,
  identityView,
  type ManagedIdentityFixture,
  parseManagedIdentity,
} from './identities.ts';
import { groupId, type GroupRecord, type OperationRecord } from './views.ts';
import {
  type AddressPool,
  addressPool,
  checkGroupSubnet,
  inPool,
  parseSubnetId,
  parseVirtualNetwork,
  type VirtualNetworkFixture,
} from './virtual-networks.ts';

export interface EmulatorConfig {
  subscriptionId: string;
  regions: string[];
  resourceGroups: string[];
  timeline: Timeline;
  limits: AciLimits;
  quotas: Quotas;
  rateLimits: RateLimits;
  seed: number;
  /** The emulator registry's pull decision for its own images (spec.ts SpecContext.canPull). */
  canPull?: SpecContext['canPull'];
  /** Virtual networks there at the start (and after a reset); more come from the control API. */
  virtualNetworks?: readonly VirtualNetworkFixture[];
  /** The connector's principal (its client id), named in authorization errors; and its tenant. */
  principal?: { clientId: string; tenantId: string };
  /** Storage accounts whose shares azureFile volumes mount; unset, every share mounts unchecked. */
  storageAccounts?: readonly StorageAccountFixture[];
}

export type ArmCategory = 'reads' | 'writes' | 'deletes';

export interface ContainerTarget {
  resourceGroup: string;
  name: string;
  container: string;
}

/** An exec or attach session handed out by the API, waiting for (then bound to) its websocket. */
export interface StreamSession {
  kind: 'exec' | 'attach';
  id: string;
  password: string;
  target: ContainerTarget;
  container: ContainerSpec;
  spec: GroupSpec;
  /** The command exec runs ('' for attach). */
  command: string;
  terminalSize: { rows: number; cols: number };
  /** The container run the session belongs to: it ends when that run does. */
  runStartedAt: number;
  openedAt: number;
  expiresAt: number;
}

/** How long a session waits for its websocket (unconfirmed; Azure's is short-lived too). */
const SESSION_TTL_MS = 5 * 60_000;
/** Sessions handed out and not yet connected (unconfirmed: a bound so POSTs cannot fill memory). */
export const MAX_PENDING_SESSIONS = 256;
const HOUR_MS = 3_600_000;
const RETENTION_MS = HOUR_MS;
const FIVE_MINUTES_MS = 300_000;

function key(resourceGroup: string, name: string): string {
  return `${resourceGroup.toLowerCase()}/${name}`;
}

interface AciWindows {
  hour: SlidingWindow;
  fiveMinutes: SlidingWindow;
}

export class EmulatorState {
  readonly config: EmulatorConfig;
  private quotas: Quotas;
  private resourceGroups = new Map<string, string>();
  private groups = new Map<string, GroupRecord>();
  private networks = new Map<string, VirtualNetworkFixture>();
  /** User-assigned identities by lowercased ARM id (control API). */
  private identities = new Map<string, ManagedIdentityFixture>();
  private operations = new Map<string, OperationRecord>();
  private sessions = new Map<string, StreamSession>();
  private buckets = new Map<ArmCategory, TokenBucket>();
  private aciWindows = new Map<string, AciWindows>();
  private injector: FaultInjector;

  constructor(config: EmulatorConfig) {
    this.config = config;
    this.quotas = { ...config.quotas };
    this.injector = newInjector([], config.seed);
    this.reset();
  }

  /** Back to the configured start: no container groups, the configured resource groups and quotas, no faults. */
  reset(): void {
    this.groups.clear();
    this.operations.clear();
    this.sessions.clear();
    this.buckets.clear();
    this.aciWindows.clear();
    this.resourceGroups = new Map(this.config.resourceGroups.map((name) => [name.toLowerCase(), name]));
    this.networks = new Map(
      (this.config.virtualNetworks ?? []).map((n) => [key(n.resourceGroup, n.name), n]),
    );
    this.quotas = { ...this.config.quotas };
    this.injector = newInjector([], this.config.seed);
    this.identities.clear();
  }

  /** Control API: creates or replaces a user-assigned identity fixture. */
  putManagedIdentity(body: unknown): ManagedIdentityFixture {
    const identity = parseManagedIdentity(body);
    this.identities.set(identity.id.toLowerCase(), identity);
    return identity;
  }

  managedIdentity(id: string): ManagedIdentityFixture | undefined {
    return this.identities.get(id.toLowerCase());
  }

  /** Control API: the decoded files of a group's secret volume (what its containers would read). */
  secretVolumeFiles(
    resourceGroup: string,
    name: string,
    volume: string,
    now: number,
  ): Record<string, string> {
    const record = this.getGroup(resourceGroup, name, now);
    const found = record.spec.volumes.find(
      (candidate) => candidate.name === volume && candidate.kind === 'secret',
    );
    if (!found)
      throw new ArmError(404, 'VolumeNotFound', `No secret volume '${volume}' in container group '${name}'.`);
    return found.files;
  }

  setQuotas(quotas: Partial<Quotas>): Quotas {
    this.quotas = { ...this.quotas, ...quotas };
    return this.quotas;
  }

  createResourceGroup(name: string): boolean {
    const exists = this.resourceGroups.has(name.toLowerCase());
    if (!exists) this.resourceGroups.set(name.toLowerCase(), name);
    return !exists;
  }

  requireResourceGroup(name: string): string {
    const found = this.resourceGroups.get(name.toLowerCase());
    if (found === undefined) {
      throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
    }
    return found;
  }

  /** Control API: creates or replaces a virtual network fixture (its resource group is created too). */
  putVirtualNetwork(body: unknown): VirtualNetworkFixture {
    const network = parseVirtualNetwork(body, {
      resourceGroup: this.config.resourceGroups[0] ?? 'aci-burst',
      location: this.config.regions[0] ?? 'westus',
    });
    this.createResourceGroup(network.resourceGroup);
    this.networks.set(key(network.resourceGroup, network.name), network);
    return network;
  }

  /** ARM GET of a virtual network. */
  getVirtualNetwork(resourceGroup: string, name: string): VirtualNetworkFixture {
    const rg = this.requireResourceGroup(resourceGroup);
    const network = this.networks.get(key(rg, name));
    if (network === undefined) {
      throw new ArmError(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.Network/virtualNetworks/${name}' under resource group '${rg}' was not found.`,
      );
    }
    return network;
  }

  /** The addresses a group in a subnet may get, and those other groups there hold; undefined outside a subnet. */
  subnetAddresses(record: GroupRecord): { pool: AddressPool; taken: Set<string> } | undefined {
    const { subnetId } = record.spec;
    if (subnetId === undefined) return undefined;
    const network = this.findSubnet(subnetId);
    const pool = network && addressPool(network.addressPrefix);
    if (pool === undefined) return undefined;
    const taken = new Set<string>();
    for (const other of this.groups.values()) {
      if (other !== record && other.address !== undefined && inPool(pool, other.address))
        taken.add(other.address);
    }
    return { pool, taken };
  }

  private findSubnet(subnetId: string): { addressPrefix: string } | undefined {
    const parts = parseSubnetId(subnetId);
    const network = parts && this.networks.get(key(parts.resourceGroup, parts.network));
    return network?.subnets.find((s) => s.name.toLowerCase() === parts?.subnet.toLowerCase());
  }

  setFaults(rules: readonly FaultRule[], seed = this.config.seed): void {
    this.injector = newInjector(rules, seed);
  }

  faultsFor(request: FaultRequest): Fault[] {
    const decision = decideFaults(this.injector, request);
    this.injector = decision.injector;
    return decision.faults;
  }

  /** Takes one token of ARM's per-subscription bucket for the category; throws 429 when empty. */
  takeArmToken(category: ArmCategory, now: number): Record<string, string> {
    const limits = this.config.rateLimits;
    const setting =
      category === 'reads' ? limits.armReads : category === 'writes' ? limits.armWrites : limits.armDeletes;
    const bucket = this.buckets.get(category) ?? newBucket(setting.capacity, setting.refillPerSecond, now);
    const decision = takeToken(bucket, now);
    this.buckets.set(category, decision.state);
    if (!decision.allowed) {
      const type = category === 'reads' ? 'read' : category === 'writes' ? 'write' : 'delete';
      throw new ArmError(
        429,
        'SubscriptionRequestsThrottled',
        `Number of '${type}' requests for subscription '${this.config.subscriptionId}' actor 'aci-emulator' exceeded. ` +
          `Please try again after '${decision.retryAfterSeconds}' seconds after the last request.`,
        { headers: { 'retry-after': String(decision.retryAfterSeconds) } },
      );
    }
    return { [`x-ms-ratelimit-remaining-subscription-${category}`]: String(decision.remaining) };
  }

  /** ACI's own create/delete limits per region; throws 429 when used up. */
  private countAciRequest(kind: 'create' | 'delete', location: string, now: number): Record<string, string> {
    const limits = this.config.rateLimits;
    const windowKey = `${kind}/${location}`;
    const windows = this.aciWindows.get(windowKey) ?? {
      hour: newWindow(kind === 'create' ? limits.aciCreatesPerHour : limits.aciDeletesPerHour, HOUR_MS),
      fiveMinutes: newWindow(
        kind === 'create' ? limits.aciCreatesPer5Minutes : limits.aciDeletesPer5Minutes,
        FIVE_MINUTES_MS,
      ),
    };
    const hour = hitWindow(windows.hour, now);
    const fiveMinutes = hitWindow(windows.fiveMinutes, now);
    const refused = [hour, fiveMinutes].find((decision) => !decision.allowed);
    if (refused) {
      // Code unconfirmed: Azure's documented limits, answered like ARM's own throttling.
      throw new ArmError(
        429,
        'ResourceRequestsThrottled',
        `The number of container group ${kind} requests in region '${location}' exceeded the limit of ` +
          `${refused.state.limit} per ${refused.state.windowMs / 60_000} minutes. Please try again after '${refused.retryAfterSeconds}' seconds.`,
        { headers: { 'retry-after': String(refused.retryAfterSeconds) } },
      );
    }
    this.aciWindows.set(windowKey, { hour: hour.state, fiveMinutes: fiveMinutes.state });
    return {
      'x-ms-ratelimit-remaining-subscription-resource-requests-pt1h': String(hour.remaining),
      'x-ms-ratelimit-remaining-subscription-resource-requests-pt5m': String(fiveMinutes.remaining),
    };
  }

  /** The group, advanced to `now`; throws 404 as ARM does. */
  getGroup(resourceGroup: string, name: string, now: number): GroupRecord {
    const rg = this.requireResourceGroup(resourceGroup);
    const record = this.groups.get(key(rg, name));
    if (!record) {
      throw new ArmError(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.ContainerInstance/containerGroups/${name}' under resource group '${rg}' was not found. ` +
          'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
        { headers: { 'x-ms-failure-cause': 'gateway' } },
      );
    }
    return this.advance(record, now);
  }

  private advance(record: GroupRecord, now: number): GroupRecord {
    const advanced = { ...record, runtime: advanceGroup(record.runtime, now, this.config.timeline) };
    this.groups.set(key(record.resourceGroup, record.name), advanced);
    return advanced;
  }

  listGroups(resourceGroup: string | undefined, now: number): GroupRecord[] {
    const rg =
      resourceGroup === undefined ? undefined : this.requireResourceGroup(resourceGroup).toLowerCase();
    return [...this.groups.values()]
      .filter((record) => rg === undefined || record.resourceGroup.toLowerCase() === rg)
      .sort((a, b) => key(a.resourceGroup, a.name).localeCompare(key(b.resourceGroup, b.name)))
      .map((record) => this.advance(record, now));
  }

  private regionUsage(
    location: string,
    exceptKey?: string,
  ): { containerGroups: number; standardCores: number } {
    const inRegion = [...this.groups.entries()].filter(
      ([k, record]) => record.spec.location === location && k !== exceptKey,
    );
    return {
      containerGroups: inRegion.length,
      standardCores: inRegion.reduce((sum, [, record]) => sum + coresOf(record.spec.cpu), 0),
    };
  }

  usages(location: string): { name: string; localizedName: string; currentValue: number; limit: number }[] {
    const usage = this.regionUsage(normalizeLocation(location));
    return [
      {
        name: 'ContainerGroups',
        localizedName: 'Container Groups',
        currentValue: usage.containerGroups,
        limit: this.quotas.containerGroups,
      },
      {
        name: 'StandardCores',
        localizedName: 'Standard Cores',
        currentValue: usage.standardCores,
        limit: this.quotas.standardCores,
      },
    ];
  }

  private checkQuota(spec: GroupSpec, exceptKey: string | undefined): void {
    const exceeded = exceededQuota(this.regionUsage(spec.location, exceptKey), this.quotas, spec.cpu);
    if (exceeded) {
      throw new ArmError(
        400,
        'ContainerGroupQuotaReached',
        `Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota '${exceeded.name}' exceeded in region ` +
          `'${spec.location}'. Limit: '${exceeded.limit}', Usage: '${exceeded.usage}' Requested: '${exceeded.requested}'.`,
      );
    }
  }

  private transitioningError(name: string): ArmError {
    return new ArmError(
      409,
      'ContainerGroupTransitioning',
      `The container group '${name}' is still transitioning, please retry later.`,
    );
  }

  private startOperation(
    record: Omit<GroupRecord, 'runtime'>,
    kind: ProvisioningKind,
    now: number,
  ): { record: GroupRecord; operationId: string } {
    const failingMounts = containersFailingMounts(record.spec, this.config.storageAccounts);
    const runtime = beginProvisioning(
      record.spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        behaviour: failingMounts.has(c.name) ? { kind: 'mount-fail' as const } : behaviourFor(c),
      })),
      { kind, restartPolicy: record.spec.restartPolicy, region: record.spec.location },
      now,
      this.config.timeline,
    );
    const updated = { ...record, runtime };
    const operationId = randomUUID();
    this.forgetOldOperations(now);
    this.groups.set(key(record.resourceGroup, record.name), updated);
    this.operations.set(operationId, {
      id: operationId,
      groupId: groupId(record.subscriptionId, record.resourceGroup, record.name),
      location: record.spec.location,
      provisioning: runtime.provisioning,
    });
    return { record: updated, operationId };
  }

  /** Keeps a long-running emulator's memory bounded; nobody polls an operation an hour after it ended. */
  private forgetOldOperations(now: number): void {
    for (const [id, operation] of this.operations) {
      if (operation.provisioning.finishedAt < now - RETENTION_MS) this.operations.delete(id);
    }
    this.forgetExpiredSessions(now);
  }

  private forgetExpiredSessions(now: number): void {
    for (const [id, session] of this.sessions) {
      if (session.expiresAt < now) this.sessions.delete(id);
    }
  }

  /** PUT: creates or replaces the group and starts provisioning. */
  putGroup(
    resourceGroup: string,
    name: string,
    body: unknown,
    now: number,
  ): { record: GroupRecord; created: boolean; operationId: string; headers: Record<string, string> } {
    const rg = this.requireResourceGroup(resourceGroup);
    const spec = parseGroupSpec(body, {
      groupName: name,
      regions: this.config.regions,
      limits: this.config.limits,
      canPull: this.config.canPull,
    });
    const existing = this.groups.get(key(rg, name));
    if (existing && isTransitioning(existing.runtime, now)) throw this.transitioningError(name);
    checkGroupSubnet(
      {
        groupName: name,
        location: spec.location,
        subnetId: spec.subnetId,
        ipAddressType: spec.ipAddress?.type,
      },
      (networkGroup, network) => this.networks.get(key(networkGroup, network)),
      {
        subscriptionId: this.config.subscriptionId,
        addressesInUse: (subnetId) =>
          [...this.groups.values()].filter(
            (other) =>
              other !== existing &&
              other.spec.ipAddress &&
              other.spec.subnetId?.toLowerCase() === subnetId.toLowerCase(),
          ).length,
      },
    );
    this.checkIdentities(rg, name, spec);
    this.checkQuota(spec, key(rg, name));
    const headers = existing ? {} : this.countAciRequest('create', spec.location, now);
    const json = this.withIdentityView(body as Record<string, unknown>, spec);
    const tags = json['tags'];
    const record = {
      subscriptionId: this.config.subscriptionId,
      resourceGroup: rg,
      name,
      body: json,
      tags: typeof tags === 'object' && tags !== null ? (tags as Record<string, string>) : {},
      spec,
      // An update keeps the group's address (while it still asks for one of the same kind, in the same subnet).
      ...(spec.ipAddress &&
        existing?.address !== undefined &&
        existing.spec.ipAddress?.type === spec.ipAddress.type &&
        existing.spec.subnetId === spec.subnetId && { address: existing.address }),
    };
    const started = this.startOperation(record, existing ? 'Update' : 'Create', now);
    return { ...started, created: !existing, headers };
  }

  /** Refuses identities the connector may not assign, or that do not exist, as ARM does. */
  private checkIdentities(resourceGroup: string, name: string, spec: GroupSpec): void {
    checkGroupIdentities(
      groupId(this.config.subscriptionId, resourceGroup, name),
      spec.userAssignedIdentities,
      (id) => this.managedIdentity(id),
      this.config.principal?.clientId ?? '',
    );
  }

  /** The body as ARM answers it: each user-assigned identity with its principal and client ids. */
  private withIdentityView(sent: Record<string, unknown>, spec: GroupSpec): Record<string, unknown> {
    const identity = sent['identity'];
    if (typeof identity !== 'object' || identity === null) return sent;
    return {
      ...sent,
      identity: identityView(
        identity as Record<string, unknown>,
        spec.userAssignedIdentities,
        (id) => this.managedIdentity(id),
        this.config.principal?.tenantId ?? '',
      ),
    };
  }

  /** DELETE: removes the group at once and returns its last state (what Azure answers with 200). */
  deleteGroup(
    resourceGroup: string,
    name: string,
    now: number,
  ): { record: GroupRecord | undefined; headers: Record<string, string> } {
    const rg = this.requireResourceGroup(resourceGroup);
    const existing = this.groups.get(key(rg, name));
    if (!existing) return { record: undefined, headers: {} };
    // A stuck operation can be deleted (unconfirmed: how Azure treats a group stuck in Creating;
    // deleting it is what its troubleshooting guide advises).
    if (isTransitioning(existing.runtime, now) && existing.runtime.provisioning.stalled !== true)
      throw this.transitioningError(name);
    const headers = this.countAciRequest('delete', existing.spec.location, now);
    const record = this.advance(existing, now);
    this.groups.delete(key(rg, name));
    return { record, headers };
  }

  patchTags(resourceGroup: string, name: string, body: unknown, now: number): GroupRecord {
    const record = this.getGroup(resourceGroup, name, now);
    const tags =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['tags'] : undefined;
    if (typeof tags !== 'object' || tags === null || Object.values(tags).some((v) => typeof v !== 'string')) {
      throw new ArmError(
        400,
        'InvalidRequestContent',
        "The request content was invalid: 'tags' must map names to strings.",
      );
    }
    const updated = { ...record, tags: tags as Record<string, string> };
    this.groups.set(key(record.resourceGroup, name), updated);
    return updated;
  }

  /** POST restart or start: a new provisioning operation; returns its id and region. */
  reprovisionGroup(
    resourceGroup: string,
    name: string,
    kind: 'Restart' | 'Start',
    now: number,
  ): { operationId: string; location: string } {
    const record = this.getGroup(resourceGroup, name, now);
    if (isTransitioning(record.runtime, now)) throw this.transitioningError(name);
    return {
      operationId: this.startOperation(record, kind, now).operationId,
      location: record.spec.location,
    };
  }

  /** Fault `stall`: the group's operation in flight never finishes. */
  stallProvisioning(resourceGroup: string, name: string, now: number, operationId: string): void {
    const record = this.getGroup(resourceGroup, name, now);
    const runtime = stallProvisioning(record.runtime);
    this.groups.set(key(record.resourceGroup, name), { ...record, runtime });
    const operation = this.operations.get(operationId);
    if (operation) this.operations.set(operationId, { ...operation, provisioning: runtime.provisioning });
  }

  stopGroup(resourceGroup: string, name: string, now: number): void {
    const record = this.getGroup(resourceGroup, name, now);
    if (isTransitioning(record.runtime, now)) throw this.transitioningError(name);
    this.groups.set(key(record.resourceGroup, name), { ...record, runtime: stopGroup(record.runtime, now) });
  }

  operation(location: string, id: string): OperationRecord {
    const operation = this.operations.get(id);
    if (!operation || operation.location !== normalizeLocation(location)) {
      throw new ArmError(404, 'OperationNotFound', `The operation '${id}' could not be found.`);
    }
    return operation;
  }

  private container(record: GroupRecord, containerName: string): ContainerSpec {
    const container = record.spec.containers.find((c) => c.name === containerName);
    if (!container) {
      throw new ArmError(
        404,
        'ContainerNotFound',
        `The container '${containerName}' could not be found in container group '${record.name}'.`,
      );
    }
    return container;
  }

  logs(
    target: { resourceGroup: string; name: string; container: string },
    options: { tail?: number; timestamps: boolean },
    now: number,
  ): string {
    const record = this.getGroup(target.resourceGroup, target.name, now);
    this.container(record, target.container);
    const runtime = record.runtime.containers.find((c) => c.name === target.container);
    if (runtime?.runStartedAt === undefined) {
      throw new ArmError(
        400,
        'ContainerLogNotAvailable',
        `Container log not available for container '${target.container}' of container group '${target.name}'.`,
      );
    }
    const lines = logLinesAt(runtime, now).map((line) =>
      options.timestamps ? `${new Date(line.at).toISOString()} ${line.text}` : line.text,
    );
    const shown = options.tail === undefined ? lines : lines.slice(Math.max(0, lines.length - options.tail));
    return shown.map((line) => `${line}\n`).join('');
  }

  /** POST exec or attach: a session for the container's current run; the container must be running. */
  openSession(
    target: ContainerTarget,
    request: { kind: 'exec' | 'attach'; command: string; terminalSize: { rows: number; cols: number } },
    now: number,
  ): StreamSession {
    const record = this.getGroup(target.resourceGroup, target.name, now);
    const container = this.container(record, target.container);
    const runtime = record.runtime.containers.find((c) => c.name === target.container);
    if (runtime?.currentState.state !== 'Running' || runtime.runStartedAt === undefined) {
      throw new ArmError(
        400,
        'ContainerNotRunning',
        `The container '${target.container}' in container group '${target.name}' is not running.`,
      );
    }
    this.forgetExpiredSessions(now);
    if (this.sessions.size >= MAX_PENDING_SESSIONS) {
      // Code unconfirmed.
      throw new ArmError(
        429,
        'TooManyPendingSessions',
        `More than ${MAX_PENDING_SESSIONS} ${request.kind} sessions are waiting for their websocket; connect them or let them expire.`,
      );
    }
    const session: StreamSession = {
      ...request,
      id: randomUUID(),
      password: randomUUID().replaceAll('-', ''),
      target: { ...target, resourceGroup: record.resourceGroup },
      container,
      spec: record.spec,
      runStartedAt: runtime.runStartedAt,
      openedAt: now,
      expiresAt: now + SESSION_TTL_MS,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The session once (it is single-use), if it exists, is of that kind and has not expired. */
  takeSession(kind: StreamSession['kind'], id: string, now: number): StreamSession | undefined {
    const session = this.sessions.get(id);
    if (session?.kind !== kind) return undefined;
    this.sessions.delete(id);
    return session.expiresAt > now ? session : undefined;
  }

  /** The group advanced to `now`, or undefined when it does not exist (no 404). */
  findGroup(resourceGroup: string, name: string, now: number): GroupRecord | undefined {
    const record = this.groups.get(key(resourceGroup, name));
    return record && this.advance(record, now);
  }

  /** Every group as last stored (not advanced): for observers that compute time themselves. */
  storedGroups(): IterableIterator<GroupRecord> {
    return this.groups.values();
  }

  /** Gives the group its IP address (claimed after the PUT); undefined when the group is gone meanwhile. */
  assignAddress(resourceGroup: string, name: string, address: string): GroupRecord | undefined {
    const record = this.groups.get(key(resourceGroup, name));
    if (!record?.spec.ipAddress) return undefined;
    const updated = { ...record, address };
    this.groups.set(key(resourceGroup, name), updated);
    return updated;
  }

  /** Control API: kill (`restart: false`) or restart a container. */
  interveneContainer(
    target: { resourceGroup: string; name: string; container: string },
    action: 'kill' | 'restart',
    now: number,
  ): GroupRecord {
    const record = this.getGroup(target.resourceGroup, target.name, now);
    this.container(record, target.container);
    const runtime =
      action === 'kill'
        ? killContainer(record.runtime, target.container, now, this.config.timeline)
        : restartContainer(record.runtime, target.container, now);
    const updated = { ...record, runtime };
    this.groups.set(key(record.resourceGroup, record.name), updated);
    return updated;
  }
}
