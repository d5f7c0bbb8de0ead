// The delegated subnet (ACI_SUBNET_ID): checked at start and then now and again, because a subnet that
// is missing, not delegated to ACI or in another region makes every create fail. While it cannot be
// used, the node is NotReady with the reason and pods wait Pending with an event (never Failed: the
// operator's fix makes them run). The judgement is pure; the read goes through Resource Manager.
import type { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { classifyAzureError } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';
import type { AzureCondition } from './health.ts';
import type { Timers } from '../runtime/clock.ts';
import { stopOnAbort } from '../runtime/lifecycle.ts';

/** The service a subnet must be delegated to for container groups. */
export const ACI_DELEGATION = 'Microsoft.ContainerInstance/containerGroups';
/** The Microsoft.Network API version the virtual network is read with. */
export const NETWORK_API_VERSION = '2024-05-01';

export interface SubnetRef {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  virtualNetwork: string;
  subnet: string;
}

const SUBNET_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/([^/]+)\/subnets\/([^/]+)$/i;

/** The parts of a subnet's ARM id; undefined when the text is not one. */
export function parseSubnetId(text: string): SubnetRef | undefined {
  const match = SUBNET_ID.exec(text.trim());
  if (!match) return undefined;
  const [, subscriptionId = '', resourceGroup = '', virtualNetwork = '', subnet = ''] = match;
  return { id: text.trim(), subscriptionId, resourceGroup, virtualNetwork, subnet };
}

/** What the check needs of a virtual network. */
export interface VirtualNetworkView {
  location: string;
  subnets: { name: string; addressPrefixes: string[]; delegations: string[] }[];
}

export interface VirtualNetworkApi {
  /** The subnet's virtual network; undefined when it does not exist. Errors are ClassifiedErrors. */
  read(subnet: SubnetRef): Promise<VirtualNetworkView | undefined>;
}

const sameRegion = (a: string, b: string): boolean =>
  a.replaceAll(' ', '').toLowerCase() === b.replaceAll(' ', '').toLowerCase();

/** Whether groups can go into the subnet, and if not, why and what to do. */
export function subnetCondition(
  ref: SubnetRef,
  region: string,
  network: VirtualNetworkView | undefined,
): AzureCondition {
  const where = `subnet '${ref.subnet}' of virtual network '${ref.virtualNetwork}' in resource group '${ref.resourceGroup}' (ACI_SUBNET_ID)`;
  const subnet = network?.subnets.find((s) => s.name.toLowerCase() === ref.subnet.toLowerCase());
  if (network === undefined || subnet === undefined) {
    return {
      ok: false,
      reason: 'SubnetNotFound',
      message: `${where} does not exist: create it and delegate it to ${ACI_DELEGATION}, or correct ACI_SUBNET_ID`,
    };
  }
  if (!subnet.delegations.some((service) => service.toLowerCase() === ACI_DELEGATION.toLowerCase())) {
    return {
      ok: false,
      reason: 'SubnetNotDelegated',
      message: `${where} is not delegated to ${ACI_DELEGATION}: az network vnet subnet update --delegations ${ACI_DELEGATION}`,
    };
  }
  if (!sameRegion(network.location, region)) {
    return {
      ok: false,
      reason: 'SubnetInOtherRegion',
      message: `${where} is in region '${network.location}' and the container groups in '${region}' (ACI_REGION): a group joins a subnet of its own region only`,
    };
  }
  return {
    ok: true,
    reason: 'SubnetReady',
    message: `${where} (${subnet.addressPrefixes.join(', ')}) is delegated to ACI`,
  };
}

/** Reads virtual networks through the ACI client's pipeline: same credential, retries and trust. */
export class ArmVirtualNetworks implements VirtualNetworkApi {
  private readonly client: ContainerInstanceManagementClient;
  private readonly endpoint: string;

  constructor(options: { client: ContainerInstanceManagementClient; endpoint: string }) {
    this.client = options.client;
    this.endpoint = options.endpoint.replace(/\/+$/, '');
  }

  async read(ref: SubnetRef): Promise<VirtualNetworkView | undefined> {
    const path = `/subscriptions/${encodeURIComponent(ref.subscriptionId)}/resourceGroups/${encodeURIComponent(ref.resourceGroup)}/providers/Microsoft.Network/virtualNetworks/${encodeURIComponent(ref.virtualNetwork)}`;
    const request = createPipelineRequest({
      url: `${this.endpoint}${path}?api-version=${NETWORK_API_VERSION}`,
      method: 'GET',
    });
    try {
      const response = await this.client.sendRequest(request);
      const body = parseJson(response.bodyAsText ?? undefined);
      if (response.status === 404) return undefined;
      if (response.status >= 400) {
        const error = (body?.['error'] ?? {}) as { code?: string; message?: string };
        throw new RestError(error.message ?? `reading the virtual network answered ${response.status}`, {
          ...(error.code !== undefined && { code: error.code }),
          statusCode: response.status,
          response,
        });
      }
      return virtualNetworkView(body ?? {});
    } catch (error) {
      throw classifyAzureError(error);
    }
  }
}

type Json = Record<string, unknown>;

function parseJson(text: string | undefined): Json | undefined {
  try {
    const value: unknown = JSON.parse(text ?? '');
    return typeof value === 'object' && value !== null ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** The fields the check reads, from Microsoft.Network's wire shape. */
export function virtualNetworkView(body: Json): VirtualNetworkView {
  const properties = (body['properties'] ?? {}) as { subnets?: unknown };
  const subnets = Array.isArray(properties.subnets) ? (properties.subnets as Json[]) : [];
  return {
    location: typeof body['location'] === 'string' ? body['location'] : '',
    subnets: subnets.map((subnet) => {
      const own = (subnet['properties'] ?? {}) as {
        addressPrefix?: string;
        addressPrefixes?: string[];
        delegations?: { properties?: { serviceName?: string } }[];
      };
      return {
        name: typeof subnet['name'] === 'string' ? subnet['name'] : '',
        addressPrefixes: own.addressPrefixes ?? (own.addressPrefix === undefined ? [] : [own.addressPrefix]),
        delegations: (own.delegations ?? []).map((d) => d.properties?.serviceName ?? ''),
      };
    }),
  };
}

/** The subnet's last known condition, read again every `recheckMs` while usable and on every call while not. */
export class SubnetCheck {
  private current: AzureCondition = {
    ok: false,
    reason: 'SubnetNotChecked',
    message: 'the subnet (ACI_SUBNET_ID) has not been checked yet',
  };
  private checkedAt: number | undefined;
  private readonly deps: {
    api: VirtualNetworkApi;
    subnet: SubnetRef;
    region: string;
    timers: Timers;
    logger: Logger;
    recheckMs: number;
    /** How often start() asks for a read: a usable subnet is read only every `recheckMs` anyway. */
    refreshMs: number;
  };
  /** Settles once the periodic reads stopped after the start signal aborted. */
  done: Promise<void> = Promise.resolve();

  constructor(deps: SubnetCheck['deps']) {
    this.deps = deps;
  }

  get condition(): AzureCondition {
    return this.current;
  }

  /** Reads the subnet now, then every `refreshMs` (when due) until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    await this.refresh();
    const cancel = this.deps.timers.every(this.deps.refreshMs, () => {
      void this.refresh();
    });
    this.done = stopOnAbort(signal, cancel, () => undefined);
  }

  /** Reads the subnet when due; never throws (a failed read keeps a usable subnet usable). */
  async refresh(): Promise<void> {
    const { api, subnet, region, timers, logger, recheckMs } = this.deps;
    const now = timers.now();
    if (this.current.ok && this.checkedAt !== undefined && now - this.checkedAt < recheckMs) return;
    try {
      const next = subnetCondition(subnet, region, await api.read(subnet));
      if (next.ok !== this.current.ok || next.reason !== this.current.reason) {
        if (next.ok) logger.info({ subnet: subnet.id }, next.message);
        else logger.error({ subnet: subnet.id, reason: next.reason }, next.message);
      }
      this.current = next;
      this.checkedAt = now;
    } catch (error) {
      const classified = classifyAzureError(error);
      logger.warn({ subnet: subnet.id, err: classified }, 'reading the subnet failed');
      if (this.current.ok) return;
      this.current = {
        ok: false,
        reason: classified.reaction === 'fix-credentials' ? 'SubnetNotReadable' : 'SubnetNotChecked',
        message:
          classified.reaction === 'fix-credentials'
            ? `the connector may not read ${subnet.id}: give its identity Network Contributor (or subnets/read and subnets/join/action) on the subnet; ${classified.message}`
            : `the subnet could not be read: ${classified.message}`,
      };
    }
  }
}
