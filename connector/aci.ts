// The Azure edge: the container-group operations the controllers need, over the real
// @azure/arm-containerinstance client. Every call is timed and counted, every error classified, and a
// 429's Retry-After holds back all calls (ARM throttles per subscription, not per request), except
// that a 429 on a log read holds back log reads only: following logs must never stall creates and
// deletes (log reads have their own budget too, log-followers.ts).
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { classifyAzureError } from '../runtime/errors.ts';
import type { AzureHealth } from './health.ts';
import type { TerminalEndpoint } from './streaming/aci-terminal.ts';
import type { ContainerTerminals } from './streaming/terminal-session.ts';
import type { ConnectorMetrics } from './metrics.ts';
import type { Timers } from '../runtime/clock.ts';
import type { ContainerGroupApi, ContainerLogsApi } from './ports.ts';

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
  private readonly gate: ThrottleGate;
  private readonly logGate: ThrottleGate;
  private readonly health: AzureHealth;

  constructor(options: {
    client: ContainerInstanceManagementClient;
    /** For creates: without the SDK's retries (azure-client.ts says why); `client` when omitted. */
    createClient?: ContainerInstanceManagementClient;
    resourceGroup: string;
    region: string;
    metrics: ConnectorMetrics;
    gate: ThrottleGate;
    /** Held by a 429 on a log read, and passed by log reads only. */
    logGate: ThrottleGate;
    health: AzureHealth;
  }) {
    this.client = options.client;
    this.createClient = options.createClient ?? options.client;
    this.resourceGroup = options.resourceGroup;
    this.region = options.region;
    this.metrics = options.metrics;
    this.gate = options.gate;
    this.logGate = options.logGate;
    this.health = options.health;
  }

  list(): Promise<ContainerGroup[]> {
    return this.call('list', async () => {
      const groups: ContainerGroup[] = [];
      for await (const group of this.client.containerGroups.listByResourceGroup(this.resourceGroup)) {
        groups.push(group);
      }
      return groups;
    });
  }

  async get(name: string): Promise<ContainerGroup | undefined> {
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
    const ownGate = operation === 'logs' ? this.logGate : undefined;
    return armCall(
      { gate: this.gate, ...(ownGate && { ownGate }), metrics: this.metrics, health: this.health },
      operation,
      run,
    );
  }
}

/** What every ARM call goes through: the shared throttle gate, the call metrics and Azure's health. */
export interface ArmCallContext {
  gate: ThrottleGate;
  /** A budget of the call's own (log reads): it waits for this gate too, and its 429s hold back only it. */
  ownGate?: ThrottleGate;
  metrics: ConnectorMetrics;
  /** Left out by callers whose failures say nothing about serving pods. */
  health?: AzureHealth;
}

/**
 * Times, counts and classifies one ARM call; a 429 holds back every later call until Retry-After.
 * Throws the ClassifiedError.
 */
export async function armCall<T>(
  context: ArmCallContext,
  operation: string,
  run: () => Promise<T>,
): Promise<T> {
  const { gate, ownGate, metrics, health } = context;
  await gate.pass();
  if (ownGate) await ownGate.pass();
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
    if (classified.reaction === 'slow-down' && classified.retryAfterMs !== undefined) {
      (ownGate ?? gate).block(classified.retryAfterMs);
    }
    throw classified;
  } finally {
    timer();
  }
}
