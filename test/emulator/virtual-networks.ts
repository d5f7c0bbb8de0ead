// Virtual networks and subnets as test fixtures (Microsoft.Network is not emulated beyond a GET of a
// virtual network), and what ACI checks of a group that joins a subnet. Pure. IPv4 only, as ACI's
// subnets are. Codes and messages: SubnetMissingRequiredDelegation and MissingIpAddressPorts are
// Azure's; the others are marked unconfirmed where they are thrown.
import type { AciDnsLimits } from '../../contract/index.ts';
import { ArmError, invalidContent } from './arm-error.ts';

export const ACI_DELEGATION = 'Microsoft.ContainerInstance/containerGroups';

export interface SubnetFixture {
  name: string;
  /** IPv4 CIDR: 127.42.7.0/24 (served on this machine in loopback mode) or 10.241.0.0/24 (never dialled). */
  addressPrefix: string;
  /** Services the subnet is delegated to; ACI needs ACI_DELEGATION. */
  delegations: string[];
}

export interface VirtualNetworkFixture {
  resourceGroup: string;
  name: string;
  location: string;
  subnets: SubnetFixture[];
}

/** The addresses of a subnet that groups may get: Azure keeps the first four and the last. */
export interface AddressPool {
  first: number;
  last: number;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255))
    return undefined;
  return parts.reduce((sum, part) => sum * 256 + Number(part), 0);
}

export function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** The prefix's network address and length; undefined unless it is an IPv4 CIDR on its boundary. */
export function parsePrefix(prefix: string): { base: number; bits: number } | undefined {
  const [address = '', length = ''] = prefix.split('/');
  const base = ipToNumber(address);
  const bits = /^\d{1,2}$/.test(length) ? Number(length) : NaN;
  if (base === undefined || !(bits >= 0 && bits <= 32)) return undefined;
  return base % 2 ** (32 - bits) === 0 ? { base, bits } : undefined;
}

/** Usable addresses of a subnet (Azure's smallest is a /29: three of its eight). */
export function addressPool(prefix: string): AddressPool | undefined {
  const parsed = parsePrefix(prefix);
  if (parsed === undefined || parsed.bits > 29) return undefined;
  const size = 2 ** (32 - parsed.bits);
  return { first: parsed.base + 4, last: parsed.base + size - 2 };
}

export function poolSize(pool: AddressPool): number {
  return pool.last - pool.first + 1;
}

export function inPool(pool: AddressPool, address: string): boolean {
  const value = ipToNumber(address);
  return value !== undefined && value >= pool.first && value <= pool.last;
}

const LOOPBACK_FIRST = ipToNumber('127.1.0.0') ?? 0;
const LOOPBACK_LAST = ipToNumber('127.255.255.255') ?? 0;
const RESERVED_LOOPBACK = parsePrefix('127.0.0.0/16') ?? { base: 0, bits: 16 };

/**
 * Whether the pool's addresses are this machine's own (127.1.0.0-127.255.255.255): in loopback address
 * mode those are claimed and served like any group address. Any other pool (a real private range such
 * as 10.241.0.0/24, which Kubernetes needs for EndpointSlices: it refuses loopback endpoints) is only
 * handed out, never bound nor dialled by the emulator.
 */
export function servedOnLoopback(pool: AddressPool): boolean {
  return pool.first >= LOOPBACK_FIRST && pool.last <= LOOPBACK_LAST;
}

/** A prefix that reaches into 127.0.0.0/16 would hand out the machine's own 127.0.0.1: refused. */
export function prefixProblem(prefix: string): string | undefined {
  const parsed = parsePrefix(prefix);
  if (parsed === undefined) return undefined;
  const end = parsed.base + 2 ** (32 - parsed.bits) - 1;
  const reservedEnd = RESERVED_LOOPBACK.base + 2 ** (32 - RESERVED_LOOPBACK.bits) - 1;
  return end < RESERVED_LOOPBACK.base || parsed.base > reservedEnd
    ? undefined
    : `the prefix '${prefix}' reaches into 127.0.0.0/16, where this machine's own 127.0.0.1 is; use 127.1.0.0-127.255.255.255 or a private range`;
}

function fixtureError(message: string): ArmError {
  return new ArmError(400, 'InvalidVirtualNetwork', message);
}

/** A fixture from the control API or the emulator's options; every problem named. */
export function parseVirtualNetwork(
  body: unknown,
  defaults: { resourceGroup: string; location: string },
): VirtualNetworkFixture {
  if (!isObject(body))
    throw fixtureError('Expected {"name", "resourceGroup"?, "location"?, "subnets": [...]}.');
  const name = body['name'];
  const subnets = body['subnets'];
  if (typeof name !== 'string' || name === '' || !Array.isArray(subnets)) {
    throw fixtureError('A virtual network needs a "name" and a "subnets" array.');
  }
  const resourceGroup =
    typeof body['resourceGroup'] === 'string' ? body['resourceGroup'] : defaults.resourceGroup;
  const location = typeof body['location'] === 'string' ? body['location'] : defaults.location;
  return {
    resourceGroup,
    name,
    location,
    subnets: subnets.map((subnet: unknown, index) => {
      const { name: subnetName, addressPrefix, delegations } = isObject(subnet) ? subnet : {};
      if (typeof subnetName !== 'string' || subnetName === '' || typeof addressPrefix !== 'string') {
        throw fixtureError(`subnets[${index}] needs a "name" and an "addressPrefix".`);
      }
      if (addressPool(addressPrefix) === undefined) {
        throw fixtureError(
          `subnets[${index}].addressPrefix '${addressPrefix}' is not an IPv4 CIDR of /29 or larger.`,
        );
      }
      const problem = prefixProblem(addressPrefix);
      if (problem !== undefined) throw fixtureError(`subnets[${index}]: ${problem}`);
      const services = Array.isArray(delegations) ? delegations.filter((d) => typeof d === 'string') : [];
      return { name: subnetName, addressPrefix, delegations: services };
    }),
  };
}

/** GET of a virtual network, in Microsoft.Network's wire shape. */
export function virtualNetworkView(subscriptionId: string, network: VirtualNetworkFixture): Json {
  const id = `/subscriptions/${subscriptionId}/resourceGroups/${network.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${network.name}`;
  return {
    id,
    name: network.name,
    type: 'Microsoft.Network/virtualNetworks',
    location: network.location,
    properties: {
      provisioningState: 'Succeeded',
      addressSpace: { addressPrefixes: network.subnets.map((s) => s.addressPrefix) },
      subnets: network.subnets.map((subnet) => ({
        id: `${id}/subnets/${subnet.name}`,
        name: subnet.name,
        type: 'Microsoft.Network/virtualNetworks/subnets',
        properties: {
          provisioningState: 'Succeeded',
          addressPrefix: subnet.addressPrefix,
          delegations: subnet.delegations.map((serviceName, index) => ({
            id: `${id}/subnets/${subnet.name}/delegations/${index}`,
            name: `delegation-${index}`,
            properties: { serviceName },
          })),
        },
      })),
    },
  };
}

const SUBNET_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/([^/]+)\/subnets\/([^/]+)$/i;

/** A subnet id's parts; undefined when it is not one. */
export function parseSubnetId(
  id: string,
): { subscriptionId: string; resourceGroup: string; network: string; subnet: string } | undefined {
  const match = SUBNET_ID.exec(id);
  if (!match) return undefined;
  const [, subscriptionId = '', resourceGroup = '', network = '', subnet = ''] = match;
  return { subscriptionId, resourceGroup, network, subnet };
}

/** What a group asks of the network, read from its PUT body by spec.ts. */
export interface GroupNetworkRequest {
  groupName: string;
  location: string;
  subnetId: string | undefined;
  ipAddressType: 'Public' | 'Private' | undefined;
}

/**
 * The subnet a group joins, after ACI's checks: it exists, is delegated to ACI, is in the group's
 * region, has an address left, and the group's IP type fits (no public IP with a subnet, no private
 * one without).
 */
export function checkGroupSubnet(
  request: GroupNetworkRequest,
  find: (resourceGroup: string, network: string) => VirtualNetworkFixture | undefined,
  context: { subscriptionId: string; addressesInUse: (subnetId: string) => number },
): { subnet: SubnetFixture; pool: AddressPool } | undefined {
  const { groupName, subnetId, ipAddressType } = request;
  if (subnetId === undefined) {
    if (ipAddressType === 'Private') {
      // Azure's message names network profiles (the older way to join a network); code unconfirmed.
      throw new ArmError(
        400,
        'InvalidIpAddressType',
        `IP Address type in container group '${groupName}' is invalid. Private IP address is only supported when subnets are defined.`,
      );
    }
    return undefined;
  }
  if (ipAddressType === 'Public') {
    // Code and message unconfirmed: ACI keeps a group in a subnet off the internet.
    throw new ArmError(
      400,
      'InvalidIpAddressType',
      `IP Address type in container group '${groupName}' is invalid. Public IP address is not supported when subnets are defined.`,
    );
  }
  const parts = parseSubnetId(subnetId);
  const network =
    parts && parts.subscriptionId.toLowerCase() === context.subscriptionId.toLowerCase()
      ? find(parts.resourceGroup, parts.network)
      : undefined;
  const subnet = network?.subnets.find((s) => s.name.toLowerCase() === parts?.subnet.toLowerCase());
  if (network === undefined || subnet === undefined) {
    // Code and message unconfirmed.
    throw new ArmError(
      400,
      'SubnetNotFound',
      `The subnet '${subnetId}' of container group '${groupName}' was not found.`,
    );
  }
  if (!subnet.delegations.some((d) => d.toLowerCase() === ACI_DELEGATION.toLowerCase())) {
    throw new ArmError(
      400,
      'SubnetMissingRequiredDelegation',
      `Subnet missing required delegation 'Microsoft.ContainerInstance' for container group '${groupName}'.`,
    );
  }
  if (network.location.replaceAll(' ', '').toLowerCase() !== request.location) {
    // Code and message unconfirmed.
    throw new ArmError(
      400,
      'SubnetLocationMismatch',
      `The subnet '${subnetId}' is in location '${network.location}' and container group '${groupName}' in '${request.location}'. A container group can only join a subnet in its own location.`,
    );
  }
  const pool = addressPool(subnet.addressPrefix) ?? { first: 0, last: -1 };
  if (context.addressesInUse(subnetId) >= poolSize(pool)) {
    // Azure networking's code and words; unconfirmed for ACI.
    throw new ArmError(
      400,
      'SubnetIsFull',
      `Subnet '${subnet.name}' with address prefix '${subnet.addressPrefix}' does not have enough capacity for 1 IP addresses.`,
    );
  }
  return { subnet, pool };
}

/** ACI's dnsConfig: name servers required, within the resolver's bounds (limits and code unconfirmed). */
export function checkDnsConfig(dnsConfig: unknown, groupName: string, limits: AciDnsLimits): void {
  if (dnsConfig === undefined || dnsConfig === null) return;
  const invalid = (why: string): ArmError =>
    new ArmError(
      400,
      'InvalidDnsConfiguration',
      `The DNS configuration of container group '${groupName}' is invalid: ${why}.`,
    );
  if (!isObject(dnsConfig))
    throw invalidContent("Property 'dnsConfig' must be an object. Path 'properties.dnsConfig'");
  const { nameServers, searchDomains, options } = dnsConfig;
  if (!Array.isArray(nameServers) || nameServers.length === 0) {
    throw invalidContent("Required property 'nameServers' not found in JSON. Path 'properties.dnsConfig'");
  }
  if (nameServers.some((server) => typeof server !== 'string' || ipToNumber(server) === undefined)) {
    throw invalid('every name server must be an IPv4 address');
  }
  if (nameServers.length > limits.nameServers)
    throw invalid(`at most ${limits.nameServers} name servers are allowed`);
  for (const [key, value] of [
    ['searchDomains', searchDomains],
    ['options', options],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') {
      throw invalidContent(`Property '${key}' must be a string. Path 'properties.dnsConfig.${key}'`);
    }
  }
  const searches = typeof searchDomains === 'string' ? searchDomains.split(' ').filter((s) => s !== '') : [];
  if (
    searches.length > limits.searchDomains ||
    (typeof searchDomains === 'string' && searchDomains.length > limits.searchLineLength)
  ) {
    throw invalid(
      `at most ${limits.searchDomains} search domains in ${limits.searchLineLength} characters are allowed`,
    );
  }
}
