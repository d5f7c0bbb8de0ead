// The Azure edge: the container-group operations the controllers need, over the real
// @azure/arm-containerinstance client. Every call is timed, counted and its error classified. Throttling
// is honoured below the SDK, on every attempt it sends (its own retries and long-running-operation polls
// included): a 429's Retry-After holds back all calls (ARM throttles per subscription, not per request),
// except that a 429 on a log read holds back log reads only: following logs must never stall creates
// and deletes (log reads have their own budget too, log-followers.ts).
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { classifyAzureError, retryAfterFromHeaders } from '../runtime/errors.ts';
import type { AzureHealth } from './health.ts';
import type { TerminalEndpoint } from './streaming/aci-terminal.ts';
import type { ContainerTerminals } from './streaming/terminal-session.ts';
import type { ConnectorMetrics } from './metrics.ts';
import type { Timers } from '../runtime/clock.ts';
import type { ContainerGroupApi, ContainerLogsApi, PipelineOwner } from './ports.ts';
import { listEntry } from './groups.ts';

/** Holds every ARM call until the latest Retry-After has passed. */
export class ThrottleGate {
  private until = 0;
  private readonly clock: Timers;

  constructor(clock: Timers) {
    this.clock = clock;
  }

  block(retryAfterMs: number): void {
    this.until = Math.max(this.until, this.clock.now() + retryAfterMs);
  }

  async pass(): Promise<void> {
    const wait = this.until - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
  }
}

/** The gates of one identity's ARM calls: every request passes `all`; log reads pass `logReads` too. */
export interface ThrottleGates {
  all: ThrottleGate;
  logReads: ThrottleGate;
}

/** A container's log read: `…/containerGroups/{group}/containers/{container}/logs`. */
function isLogRead(url: string): boolean {
  return new URL(url).pathname.endsWith('/logs');
}

/**
 * Waits out the gates before each attempt, and blocks them on every 429 that carries a Retry-After,
 * the ones the SDK then retries by itself included: those never reach the caller, yet ARM asked the
 * whole identity to slow down.
 */
export function throttlePolicy(gates: ThrottleGates): PipelinePolicy {
  return {
    name: 'aciBurstThrottle',
    async sendRequest(request, next) {
      const logRead = isLogRead(request.url);
      await gates.all.pass();
      if (logRead) await gates.logReads.pass();
      const response = await next(request);
      if (response.status === 429) {
        const retryAfterMs = retryAfterFromHeaders((name) => response.headers.get(name));
        if (retryAfterMs !== undefined) (logRead ? gates.logReads : gates.all).block(retryAfterMs);
      }
      return response;
    },
  };
}

/**
 * Installs one set of gates on every client of the connector's identity, below the SDK's retry policy
 * so that each attempt passes them.
 */
export function throttleArmCalls(clients: readonly PipelineOwner[], timers: Timers): ThrottleGates {
  const gates = { all: new ThrottleGate(timers), logReads: new ThrottleGate(timers) };
  for (const client of clients) client.pipeline.addPolicy(throttlePolicy(gates), { afterPhase: 'Retry' });
  return gates;
}

export interface QuotaUsage {
  cores: { used: number; limit: number } | undefined;
  containerGroups: { used: number; limit: number } | undefined;
}

export interface QuotaApi {
  usage(): Promise<QuotaUsage>;
}

function terminalEndpoint(reply: { webSocketUri?: string; password?: string }): TerminalEndpoint {
  if (reply.webSocketUri === undefined || reply.password === undefined) {
    throw new Error('ACI answered without a websocket URI and password for the terminal');
  }
  return { webSocketUri: reply.webSocketUri, password: reply.password };
}

const GROUP_USAGE_NAMES = new Set(['ContainerGroups', 'StandardContainerGroups']);
const CORE_USAGE_NAMES = new Set(['StandardCores', 'Cores', 'StandardCoresPerRegion']);

export class AciContainerGroups implements ContainerGroupApi, QuotaApi, ContainerLogsApi, ContainerTerminals {
  private readonly client: ContainerInstanceManagementClient;
  private readonly createClient: ContainerInstanceManagementClient;
  private readonly resourceGroup: string;
  private readonly region: string;
  private readonly metrics: ConnectorMetrics;
  private readonly health: AzureHealth;
  /** Reads of a group in flight: a second reader of the same name shares the first one's answer. */
  private readonly reading = new Map<string, Promise<ContainerGroup | undefined>>();

  constructor(options: {
    client: ContainerInstanceManagementClient;
    /** For creates: without the SDK's retries (azure-client.ts says why); `client` when omitted. */
    createClient?: ContainerInstanceManagementClient;
    resourceGroup: string;
    region: string;
    metrics: ConnectorMetrics;
    health: AzureHealth;
  }) {
    this.client = options.client;
    this.createClient = options.createClient ?? options.client;
    this.resourceGroup = options.resourceGroup;
    this.region = options.region;
    this.metrics = options.metrics;
    this.health = options.health;
  }

  /**
   * Every group of the resource group, each cut to what a list entry is used for as its page arrives:
   * at 10,000 groups the whole specs would be held at once, the connector's peak memory.
   */
  list(): Promise<ContainerGroup[]> {
    return this.call('list', async () => {
      const groups: ContainerGroup[] = [];
      for await (const group of this.client.containerGroups.listByResourceGroup(this.resourceGroup)) {
        groups.push(listEntry(group));
      }
      return groups;
    });
  }

  /**
   * One read per name at a time: the status reads and a reconcile may want the same group at once, and
   * two requests where one answers both would spend the read budget twice.
   */
  get(name: string): Promise<ContainerGroup | undefined> {
    const inFlight = this.reading.get(name);
    if (inFlight) return inFlight;
    const read = this.readGroup(name).finally(() => this.reading.delete(name));
    this.reading.set(name, read);
    return read;
  }

  private async readGroup(name: string): Promise<ContainerGroup | undefined> {
    try {
      return await this.call('get', () => this.client.containerGroups.get(this.resourceGroup, name));
    } catch (error) {
      if (classifyAzureError(error).reaction === 'absent') return undefined;
      throw error;
    }
  }

  create(name: string, group: ContainerGroup): Promise<void> {
    // begin* returns after ACI accepted the PUT (and one status poll); provisioning is then followed
    // through the resource-group list, not by polling each operation every 2 s.
    return this.call('create', async () => {
      await this.createClient.containerGroups.beginCreateOrUpdate(this.resourceGroup, name, group);
    });
  }

  async remove(name: string): Promise<void> {
    try {
      await this.call('delete', () =>
        this.client.containerGroups.beginDeleteAndWait(this.resourceGroup, name),
      );
    } catch (error) {
      if (classifyAzureError(error).reaction !== 'absent') throw error;
    }
  }

  /** Sends ARM's restart (a long-running operation) without following it: the lists show the group. */
  restart(name: string): Promise<void> {
    return this.call('restart', async () => {
      await this.client.containerGroups.beginRestart(this.resourceGroup, name);
    });
  }

  logs(groupName: string, container: string, tail: number | undefined): Promise<string> {
    return this.call('logs', async () => {
      const result = await this.client.containers.listLogs(this.resourceGroup, groupName, container, {
        timestamps: true,
        ...(tail !== undefined && { tail }),
      });
      return result.content ?? '';
    });
  }

  openExec(
    group: string,
    container: string,
    command: string,
    size: { rows: number; cols: number },
  ): Promise<TerminalEndpoint> {
    return this.call('exec', async () =>
      terminalEndpoint(
        await this.client.containers.executeCommand(this.resourceGroup, group, container, {
          command,
          terminalSize: size,
        }),
      ),
    );
  }

  openAttach(group: string, container: string): Promise<TerminalEndpoint> {
    return this.call('attach', async () =>
      terminalEndpoint(await this.client.containers.attach(this.resourceGroup, group, container)),
    );
  }

  usage(): Promise<QuotaUsage> {
    return this.call('usage', async () => {
      const result: QuotaUsage = { cores: undefined, containerGroups: undefined };
      for await (const usage of this.client.location.listUsage(this.region)) {
        const name = usage.name?.value ?? '';
        const entry = { used: usage.currentValue ?? 0, limit: usage.limit ?? 0 };
        if (GROUP_USAGE_NAMES.has(name)) result.containerGroups = entry;
        if (CORE_USAGE_NAMES.has(name)) result.cores = entry;
      }
      return result;
    });
  }

  private call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return armCall({ metrics: this.metrics, health: this.health }, operation, run);
  }
}

/** What every ARM call reports to: the call metrics and Azure's health. */
export interface ArmCallContext {
  metrics: ConnectorMetrics;
  /** Left out by callers whose failures say nothing about serving pods. */
  health?: AzureHealth;
}

/** Times, counts and classifies one ARM call (throttlePolicy holds it back). Throws the ClassifiedError. */
export async function armCall<T>(
  context: ArmCallContext,
  operation: string,
  run: () => Promise<T>,
): Promise<T> {
  const { metrics, health } = context;
  const timer = metrics.armSeconds.startTimer({ operation });
  try {
    const result = await run();
    metrics.armRequests.inc({ operation, outcome: 'ok' });
    health?.succeeded();
    return result;
  } catch (error) {
    const classified = classifyAzureError(error);
    metrics.armRequests.inc({ operation, outcome: classified.kind });
    // The usages API is subscription-scoped: a role on the resource group alone may not read it,
    // and the quota is only a bound on capacity, so its failures say nothing about serving pods.
    if (operation !== 'usage' && classified.reaction !== 'absent') health?.failed(classified);
    throw classified;
  } finally {
    timer();
  }
}
