// Reads a container group PUT body (unknown JSON) into a typed spec, refusing what Azure refuses with
// its error codes. Pure. Codes and messages come from the shared reference (aci-arm-api.md) where it
// has them; the others (marked "unconfirmed") were not found in a primary source and are plausible.
import { ACI_DNS_LIMITS, type AciLimits } from '../../contract/index.ts';
import { ArmError, invalidContent } from './arm-error.ts';
import { isMissingImage } from './behaviour.ts';
import type { RegistryLogin } from './registry.ts';
import { checkDnsConfig } from './virtual-networks.ts';

export interface EnvironmentVariable {
  name: string;
  value?: string;
  secureValue?: string;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  environmentVariables: EnvironmentVariable[];
  ports: { port: number; protocol: string }[];
  volumeMounts: VolumeMount[];
  cpu: number;
  memoryInGB: number;
}

export interface VolumeSpec {
  name: string;
  kind: 'azureFile' | 'emptyDir' | 'secret' | 'gitRepo' | 'other';
  /** Secret volumes: file name -> decoded content. */
  files: Record<string, string>;
  /** Azure Files volumes: the share and the credentials sent for it (checked by storage.ts). */
  share?: AzureFileShare;
}

export interface AzureFileShare {
  shareName: string;
  storageAccountName: string;
  storageAccountKey: string | undefined;
  readOnly: boolean;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface GroupSpec {
  location: string;
  osType: string;
  restartPolicy: RestartPolicy;
  containers: ContainerSpec[];
  initContainers: ContainerSpec[];
  volumes: VolumeSpec[];
  /** Total CPU and memory the group asks for (what quotas count). */
  cpu: number;
  memoryInGB: number;
  /** The group's IP address and the ports it exposes, when it asks for one. */
  ipAddress?: { type: 'Public' | 'Private'; ports: { port: number; protocol: string }[] };
  /** The subnet the group joins (`subnetIds[0].id`); checked against the fixtures by state.ts. */
  subnetId?: string;
  /** The user-assigned identities (`identity.userAssignedIdentities`' keys); checked against the fixtures by state.ts. */
  userAssignedIdentities: string[];
}

export interface SpecContext {
  groupName: string;
  /** Regions where the emulated subscription may create groups. */
  regions: readonly string[];
  limits: AciLimits;
  /**
   * Whether ACI could pull an image with the group's registry credentials: the emulator registry
   * answers for its own images (`undefined` for others, which only the `does-not-exist` rule refuses).
   */
  canPull?: (image: string, logins: readonly RegistryLogin[]) => boolean | undefined;
}

type Json = Record<string, unknown>;

const GROUP_NAME = /^(?!-)(?!.*--)[a-z0-9-]{1,63}(?<!-)$/;
const CONTAINER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z][a-z0-9-]{3,61}[a-z0-9]$/;
const RESTART_POLICIES: readonly RestartPolicy[] = ['Always', 'OnFailure', 'Never'];

export function isValidGroupName(name: string): boolean {
  return GROUP_NAME.test(name);
}

function groupNameError(name: string): ArmError {
  // Code unconfirmed; the rule is the documented one (1-63 lowercase letters, digits, single hyphens).
  return new ArmError(
    400,
    'InvalidContainerGroupName',
    `The container group name '${name}' is invalid. It can contain only lowercase letters, numbers and hyphens. ` +
      'It cannot start or end with a hyphen or contain consecutive hyphens. The value must be between 1 and 63 characters long.',
  );
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(parent: Json, key: string, path: string): Json {
  const value = parent[key];
  if (!isObject(value)) throw invalidContent(`Required property '${key}' not found in JSON. Path '${path}'`);
  return value;
}

function optionalObject(parent: Json, key: string, path: string): Json | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidContent(`Property '${key}' must be an object. Path '${path}.${key}'`);
  return value;
}

function arrayAt(parent: Json, key: string, path: string): unknown[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw invalidContent(`Property '${key}' must be an array. Path '${path}.${key}'`);
  return value;
}

function stringAt(parent: Json, key: string, path: string): string {
  const value = parent[key];
  if (typeof value !== 'string' || value === '') {
    throw invalidContent(`Required property '${key}' not found in JSON. Path '${path}'`);
  }
  return value;
}

function numberAt(parent: Json, key: string, path: string): number {
  const value = parent[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidContent(`Required property '${key}' must be a non-negative number. Path '${path}'`);
  }
  return value;
}

function stringList(parent: Json, key: string, path: string): string[] {
  return arrayAt(parent, key, path).map((item, index) => {
    if (typeof item !== 'string') throw invalidContent(`Expected a string. Path '${path}.${key}[${index}]'`);
    return item;
  });
}

/** Reads and validates a PUT body; throws ArmError with Azure's code for the first problem. */
export function parseGroupSpec(body: unknown, context: SpecContext): GroupSpec {
  if (!isValidGroupName(context.groupName)) throw groupNameError(context.groupName);
  if (!isObject(body)) throw invalidContent('The request body must be a JSON object');
  const location = body['location'];
  if (typeof location !== 'string' || location === '') {
    throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  }
  checkLocation(normalizeLocation(location), context.regions);
  const properties = objectAt(body, 'properties', '');
  const osType = stringAt(properties, 'osType', 'properties');
  const restartPolicy = properties['restartPolicy'] ?? 'Always';
  if (!RESTART_POLICIES.includes(restartPolicy as RestartPolicy)) {
    throw invalidContent(
      `Error converting value ${JSON.stringify(restartPolicy)} to type 'ContainerGroupRestartPolicy'`,
    );
  }
  const containerItems = arrayAt(properties, 'containers', 'properties');
  if (containerItems.length === 0)
    throw invalidContent("Required property 'containers' is empty. Path 'properties'");
  const containers = containerItems.map((item, index) =>
    parseContainer(item, `properties.containers[${index}]`, true),
  );
  const initContainers = arrayAt(properties, 'initContainers', 'properties').map((item, index) =>
    parseContainer(item, `properties.initContainers[${index}]`, false),
  );
  const volumes = arrayAt(properties, 'volumes', 'properties').map((item, index) =>
    parseVolume(item, `properties.volumes[${index}]`),
  );
  const ipAddress = optionalObject(properties, 'ipAddress', 'properties');
  const subnetId = parseSubnetIds(properties);
  const userAssignedIdentities = parseIdentity(body);
  const spec: GroupSpec = {
    location: normalizeLocation(location),
    osType,
    restartPolicy: restartPolicy as RestartPolicy,
    containers,
    initContainers,
    volumes,
    cpu: round2(containers.reduce((sum, c) => sum + c.cpu, 0)),
    memoryInGB: round2(containers.reduce((sum, c) => sum + c.memoryInGB, 0)),
    ...(ipAddress && {
      ipAddress: {
        type: ipAddress['type'] === 'Private' ? 'Private' : 'Public',
        ports: arrayAt(ipAddress, 'ports', 'properties.ipAddress').map((port, index) =>
          parsePort(port, `properties.ipAddress.ports[${index}]`),
        ),
      },
    }),
    ...(subnetId !== undefined && { subnetId }),
    userAssignedIdentities,
  };
  checkGroupRules(spec, properties, context);
  return spec;
}

const IDENTITY_TYPES = ['None', 'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned'];

/**
 * `identity`: its type, and the user-assigned identities' ids when the type includes UserAssigned.
 * The codes are unconfirmed (ARM's generic ones for a body that does not match the type).
 */
function parseIdentity(body: Json): string[] {
  const identity = optionalObject(body, 'identity', '');
  if (!identity) return [];
  const type = identity['type'];
  if (typeof type !== 'string' || !IDENTITY_TYPES.includes(type)) {
    throw invalidContent(
      `Error converting value ${JSON.stringify(type)} to type 'ResourceIdentityType'. Path 'identity.type'`,
    );
  }
  const ids = Object.keys(optionalObject(identity, 'userAssignedIdentities', 'identity') ?? {});
  if (type.includes('UserAssigned') !== ids.length > 0) {
    throw new ArmError(
      400,
      'InvalidIdentity',
      `The identity type '${type}' and the user-assigned identities given do not match: ` +
        "'userAssignedIdentities' is required with UserAssigned and not allowed otherwise.",
    );
  }
  return ids;
}

/** `subnetIds`: one subnet (more is refused, unconfirmed), by its ARM id. */
function parseSubnetIds(properties: Json): string | undefined {
  const items = arrayAt(properties, 'subnetIds', 'properties');
  if (items.length > 1) throw invalidContent("At most one subnet is supported. Path 'properties.subnetIds'");
  const [first] = items;
  if (first === undefined) return undefined;
  if (!isObject(first)) throw invalidContent("Expected an object. Path 'properties.subnetIds[0]'");
  return stringAt(first, 'id', 'properties.subnetIds[0]');
}

export function normalizeLocation(location: string): string {
  return location.toLowerCase().replaceAll(' ', '');
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function checkLocation(location: string, regions: readonly string[]): void {
  if (!regions.includes(location)) {
    throw new ArmError(
      400,
      'LocationNotAvailableForResourceType',
      `The provided location '${location}' is not available for resource type 'Microsoft.ContainerInstance/containerGroups'. ` +
        `List of available regions for the resource type is '${regions.join(',')}'.`,
    );
  }
}

function parseContainer(item: unknown, path: string, needsResources: boolean): ContainerSpec {
  if (!isObject(item)) throw invalidContent(`Expected an object. Path '${path}'`);
  const name = stringAt(item, 'name', path);
  const properties = objectAt(item, 'properties', path);
  const propertiesPath = `${path}.properties`;
  const resources = needsResources ? objectAt(properties, 'resources', propertiesPath) : undefined;
  const requests = resources ? objectAt(resources, 'requests', `${propertiesPath}.resources`) : undefined;
  const requestsPath = `${propertiesPath}.resources.requests`;
  return {
    name,
    image: stringAt(properties, 'image', propertiesPath),
    command: stringList(properties, 'command', propertiesPath),
    environmentVariables: arrayAt(properties, 'environmentVariables', propertiesPath).map((env, index) =>
      parseEnvironmentVariable(env, `${propertiesPath}.environmentVariables[${index}]`),
    ),
    ports: arrayAt(properties, 'ports', propertiesPath).map((port, index) =>
      parsePort(port, `${propertiesPath}.ports[${index}]`),
    ),
    volumeMounts: arrayAt(properties, 'volumeMounts', propertiesPath).map((mount, index) =>
      parseVolumeMount(mount, `${propertiesPath}.volumeMounts[${index}]`),
    ),
    cpu: requests ? numberAt(requests, 'cpu', requestsPath) : 0,
    memoryInGB: requests ? numberAt(requests, 'memoryInGB', requestsPath) : 0,
  };
}

function parseEnvironmentVariable(item: unknown, path: string): EnvironmentVariable {
  if (!isObject(item)) throw invalidContent(`Expected an object. Path '${path}'`);
  const { value, secureValue } = item;
  return {
    name: stringAt(item, 'name', path),
    ...(typeof value === 'string' && { value }),
    ...(typeof secureValue === 'string' && { secureValue }),
  };
}

function parsePort(item: unknown, path: string): { port: number; protocol: string } {
  if (!isObject(item)) throw invalidContent(`Expected an object. Path '${path}'`);
  const port = item['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    // Code unconfirmed; the range is the documented one.
    // JSON, not String(): an object whose own toString is not a function cannot be made a string.
    throw new ArmError(
      400,
      'InvalidContainerPort',
      `The port '${JSON.stringify(port)}' is invalid. Path '${path}'.`,
    );
  }
  const protocol = item['protocol'];
  return { port, protocol: typeof protocol === 'string' ? protocol.toUpperCase() : 'TCP' };
}

function parseVolumeMount(item: unknown, path: string): VolumeMount {
  if (!isObject(item)) throw invalidContent(`Expected an object. Path '${path}'`);
  return {
    name: stringAt(item, 'name', path),
    mountPath: stringAt(item, 'mountPath', path),
    readOnly: item['readOnly'] === true,
  };
}

function parseVolume(item: unknown, path: string): VolumeSpec {
  if (!isObject(item)) throw invalidContent(`Expected an object. Path '${path}'`);
  const name = stringAt(item, 'name', path);
  const secret = optionalObject(item, 'secret', path);
  if (secret) {
    const files = Object.fromEntries(
      Object.entries(secret).map(([file, content]) => [
        file,
        Buffer.from(typeof content === 'string' ? content : '', 'base64').toString('utf8'),
      ]),
    );
    return { name, kind: 'secret', files };
  }
  const azureFile = optionalObject(item, 'azureFile', path);
  if (azureFile) {
    // ACI's spec requires shareName and storageAccountName; the key is optional there.
    const key = azureFile['storageAccountKey'];
    const share: AzureFileShare = {
      shareName: stringAt(azureFile, 'shareName', `${path}.azureFile`),
      storageAccountName: stringAt(azureFile, 'storageAccountName', `${path}.azureFile`),
      storageAccountKey: typeof key === 'string' ? key : undefined,
      readOnly: azureFile['readOnly'] === true,
    };
    return { name, kind: 'azureFile', files: {}, share };
  }
  const kinds = ['emptyDir', 'gitRepo'] as const;
  const kind = kinds.find((candidate) => optionalObject(item, candidate, path) !== undefined) ?? 'other';
  return { name, kind, files: {} };
}

function checkGroupRules(spec: GroupSpec, properties: Json, context: SpecContext): void {
  const { groupName, limits } = context;
  checkContainerNames(spec, groupName);
  const credentials = arrayAt(properties, 'imageRegistryCredentials', 'properties');
  checkCredentialIdentities(registryLogins(credentials), spec, groupName);
  checkImages(spec, groupName, (image) => context.canPull?.(image, registryLogins(credentials)) !== false);
  // Codes of the per-group limit errors are unconfirmed; the limits are the documented ones.
  if (spec.containers.length > limits.maxContainersPerGroup) {
    throw new ArmError(
      400,
      'ContainerGroupContainerCountExceedsLimit',
      `The number of containers '${spec.containers.length}' in container group '${groupName}' exceeds the limit '${limits.maxContainersPerGroup}'.`,
    );
  }
  if (spec.volumes.length > limits.maxVolumesPerGroup) {
    throw new ArmError(
      400,
      'ContainerGroupVolumeCountExceedsLimit',
      `The number of volumes '${spec.volumes.length}' in container group '${groupName}' exceeds the limit '${limits.maxVolumesPerGroup}'.`,
    );
  }
  if (spec.cpu > limits.maxCpuPerGroup || spec.memoryInGB > limits.maxMemoryGbPerGroup) {
    throw new ArmError(
      400,
      'ResourceRequestsExceedLimits',
      `The requested resource with '${spec.cpu}' CPU and '${spec.memoryInGB}' GB memory in container group '${groupName}' ` +
        `exceeds the limit of '${limits.maxCpuPerGroup}' CPU and '${limits.maxMemoryGbPerGroup}' GB memory for '${spec.osType}' OS.`,
    );
  }
  checkVolumeMounts(spec, groupName);
  checkIpAddress(spec, optionalObject(properties, 'ipAddress', 'properties'), context);
  checkDnsConfig(properties['dnsConfig'], groupName, ACI_DNS_LIMITS);
  if (credentials.length > spec.containers.length + spec.initContainers.length) {
    throw new ArmError(
      400,
      'MoreImageRegistryCredentialsThanContainers',
      `The number of image registry credentials '${credentials.length}' in container group '${groupName}' is more than the number of containers.`,
    );
  }
}

function checkContainerNames(spec: GroupSpec, groupName: string): void {
  const seen = new Set<string>();
  for (const container of [...spec.initContainers, ...spec.containers]) {
    if (!CONTAINER_NAME.test(container.name)) {
      throw new ArmError(
        400,
        'InvalidContainerName',
        `The container name '${container.name}' in container group '${groupName}' is invalid. It can contain only lowercase letters, ` +
          'numbers and hyphens. The first and last characters must be a letter or number. The value must be between 1 and 63 characters long.',
      );
    }
    if (seen.has(container.name)) {
      throw new ArmError(
        400,
        'DuplicateContainerName',
        `The container name '${container.name}' in container group '${groupName}' is used more than once.`,
      );
    }
    seen.add(container.name);
  }
}

function registryLogins(credentials: readonly unknown[]): RegistryLogin[] {
  return credentials.filter(isObject).map((credential) => {
    const text = (key: string): string => {
      const value = credential[key];
      return typeof value === 'string' ? value : '';
    };
    return {
      server: text('server'),
      username: text('username'),
      password: text('password'),
      ...(text('identity') !== '' && { identity: text('identity') }),
    };
  });
}

/** A registry credential's identity must be one of the group's (code unconfirmed). */
function checkCredentialIdentities(
  logins: readonly RegistryLogin[],
  spec: GroupSpec,
  groupName: string,
): void {
  const identities = new Set(spec.userAssignedIdentities.map((id) => id.toLowerCase()));
  const stray = logins.find(
    (login) => login.identity !== undefined && !identities.has(login.identity.toLowerCase()),
  );
  if (stray) {
    throw new ArmError(
      400,
      'InvalidImageRegistryCredentialIdentity',
      `The identity '${stray.identity ?? ''}' of the image registry credential for server '${stray.server}' in container group '${groupName}' ` +
        "is not one of the container group's user-assigned identities.",
    );
  }
}

function checkImages(spec: GroupSpec, groupName: string, pullable: (image: string) => boolean): void {
  const missing = [...spec.initContainers, ...spec.containers].find(
    (container) => isMissingImage(container.image) || !pullable(container.image),
  );
  if (missing) {
    throw new ArmError(
      400,
      'InaccessibleImage',
      `The image '${missing.image}' in container group '${groupName}' is not accessible. Please check the image and registry credential.`,
    );
  }
}

function checkVolumeMounts(spec: GroupSpec, groupName: string): void {
  const volumeNames = new Set(spec.volumes.map((volume) => volume.name));
  for (const container of [...spec.initContainers, ...spec.containers]) {
    const unknown = container.volumeMounts.find((mount) => !volumeNames.has(mount.name));
    if (unknown) {
      throw new ArmError(
        400,
        'VolumeMountNotFound',
        `The volume mount '${unknown.name}' of container '${container.name}' in container group '${groupName}' does not match any volume.`,
      );
    }
  }
}

function checkIpAddress(spec: GroupSpec, ipAddress: Json | undefined, context: SpecContext): void {
  const { groupName, limits } = context;
  const containerPorts = new Set(spec.containers.flatMap((c) => c.ports.map((p) => p.port)));
  if (!ipAddress || !spec.ipAddress) return;
  const ipPorts = spec.ipAddress.ports;
  if (ipPorts.length === 0) {
    throw new ArmError(
      400,
      'MissingIpAddressPorts',
      `The ports in the 'ipAddress' of container group '${groupName}' cannot be empty.`,
    );
  }
  if (ipPorts.length > limits.maxPortsPerGroup) {
    throw new ArmError(
      400,
      'IpAddressPortCountExceedsLimit',
      `The number of ports '${ipPorts.length}' of the IP address of container group '${groupName}' exceeds the limit '${limits.maxPortsPerGroup}'.`,
    );
  }
  const exposed = new Set(ipPorts.map((p) => p.port));
  const unexposed = [...containerPorts].find((port) => !exposed.has(port));
  const unbacked = [...exposed].find((port) => !containerPorts.has(port));
  if (unexposed !== undefined || unbacked !== undefined) {
    throw new ArmError(
      400,
      'InvalidContainerGroupIpAddressPorts',
      `The ports of container group '${groupName}' must appear both in its containers and in 'ipAddress.ports': port '${String(unexposed ?? unbacked)}' does not.`,
    );
  }
  const label = ipAddress['dnsNameLabel'];
  if (typeof label === 'string' && !DNS_LABEL.test(label)) {
    throw new ArmError(
      400,
      'InvalidDnsNameLabel',
      `The DNS name label '${label}' in container group '${groupName}' is invalid. It can contain only lowercase letters, numbers and hyphens. ` +
        'The first character must be a letter. The last character must be a letter or number. The value must be between 5 and 63 characters long.',
    );
  }
}
