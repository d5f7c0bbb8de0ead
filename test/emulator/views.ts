// The wire JSON of a container group as ARM returns it: the PUT body echoed with secrets removed, plus
// what the service computes (provisioning state, instance views, IP address). Pure.
import {
  groupStateAt,
  provisioningStateAt,
  type ContainerRuntime,
  type GroupRuntime,
  type Provisioning,
} from './lifecycle.ts';
import type { GroupSpec } from './spec.ts';

type Json = Record<string, unknown>;

export interface GroupRecord {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** The body as last PUT (secrets included: the emulator needs them for exec, never returns them). */
  body: Json;
  tags: Record<string, string>;
  spec: GroupSpec;
  runtime: GroupRuntime;
  /** The group's IP address, once claimed (group-network.ts). */
  address?: string;
}

export const GROUP_TYPE = 'Microsoft.ContainerInstance/containerGroups';

export function groupId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${GROUP_TYPE}/${name}`;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function without(object: Json, ...keys: string[]): Json {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}

/** Secure env values, secret volume contents, storage keys, registry passwords and workspace keys go. */
export function redactVolume(volume: Json): Json {
  const azureFile = volume['azureFile'];
  return {
    ...volume,
    ...(isObject(volume['secret']) && { secret: {} }),
    ...(isObject(azureFile) && { azureFile: without(azureFile, 'storageAccountKey') }),
  };
}

function redactEnvironment(variables: unknown): Json[] {
  return objects(variables).map((variable) =>
    variable['secureValue'] === undefined ? variable : without(variable, 'secureValue', 'value'),
  );
}

function redactDiagnostics(diagnostics: unknown): Json | undefined {
  if (!isObject(diagnostics)) return undefined;
  const logAnalytics = diagnostics['logAnalytics'];
  return isObject(logAnalytics)
    ? { ...diagnostics, logAnalytics: without(logAnalytics, 'workspaceKey') }
    : diagnostics;
}

function instanceViewOf(container: ContainerRuntime | undefined): Json {
  if (!container)
    return { restartCount: 0, currentState: { state: 'Waiting', detailStatus: '' }, events: [] };
  return {
    restartCount: container.restartCount,
    currentState: container.currentState,
    ...(container.previousState && { previousState: container.previousState }),
    events: container.events,
  };
}

/** Init containers are not played: they report Completed once the group is provisioned. */
function initInstanceView(provisioning: Provisioning, now: number): Json {
  if (provisioningStateAt(provisioning, now) !== 'Succeeded') {
    return { restartCount: 0, currentState: { state: 'Waiting', detailStatus: '' }, events: [] };
  }
  const at = new Date(provisioning.finishedAt).toISOString();
  return {
    restartCount: 0,
    currentState: {
      state: 'Terminated',
      startTime: at,
      finishTime: at,
      exitCode: 0,
      detailStatus: 'Completed',
    },
    events: [],
  };
}

function containerView(container: Json, instanceView: Json | undefined): Json {
  const properties = isObject(container['properties']) ? container['properties'] : {};
  return {
    ...container,
    properties: {
      ...properties,
      environmentVariables: redactEnvironment(properties['environmentVariables']),
      ...(instanceView && { instanceView }),
    },
  };
}

/** The body's ipAddress with the address the group got, and the FQDN of its DNS label. */
function ipAddressView(record: GroupRecord, ipAddress: Json): Json {
  const label = ipAddress['dnsNameLabel'];
  return {
    ...ipAddress,
    ...(record.address !== undefined && { ip: record.address }),
    ...(typeof label === 'string' && { fqdn: `${label}.${record.spec.location}.azurecontainer.io` }),
  };
}

/** The group as GET (with instance views) or a list (without) returns it. */
export function groupView(record: GroupRecord, now: number, options: { instanceView: boolean }): Json {
  const { body, runtime, spec } = record;
  const properties = isObject(body['properties']) ? body['properties'] : {};
  const runtimeByName = new Map(runtime.containers.map((c) => [c.name, c]));
  const ipAddress = properties['ipAddress'];
  const diagnostics = redactDiagnostics(properties['diagnostics']);
  const withView = options.instanceView;
  return {
    id: groupId(record.subscriptionId, record.resourceGroup, record.name),
    name: record.name,
    type: GROUP_TYPE,
    location: spec.location,
    tags: record.tags,
    ...(body['zones'] !== undefined && { zones: body['zones'] }),
    ...(isObject(body['identity']) && { identity: body['identity'] }),
    properties: {
      ...properties,
      sku: properties['sku'] ?? 'Standard',
      restartPolicy: spec.restartPolicy,
      provisioningState: provisioningStateAt(runtime.provisioning, now),
      provisioningTimeoutInSeconds: 1800,
      isCustomProvisioningTimeout: false,
      containers: objects(properties['containers']).map((c) =>
        containerView(c, withView ? instanceViewOf(runtimeByName.get(String(c['name']))) : undefined),
      ),
      initContainers: objects(properties['initContainers']).map((c) =>
        containerView(c, withView ? initInstanceView(runtime.provisioning, now) : undefined),
      ),
      ...(properties['volumes'] !== undefined && {
        volumes: objects(properties['volumes']).map(redactVolume),
      }),
      ...(properties['imageRegistryCredentials'] !== undefined && {
        imageRegistryCredentials: objects(properties['imageRegistryCredentials']).map((c) =>
          without(c, 'password'),
        ),
      }),
      ...(isObject(ipAddress) && { ipAddress: ipAddressView(record, ipAddress) }),
      ...(diagnostics && { diagnostics }),
      ...(withView && { instanceView: { events: [], state: groupStateAt(runtime, now) } }),
    },
  };
}

export interface OperationRecord {
  id: string;
  groupId: string;
  location: string;
  provisioning: Provisioning;
}

/** The Azure-AsyncOperation status document. */
export function operationView(operation: OperationRecord, now: number): Json {
  const status = provisioningStateAt(operation.provisioning, now);
  const { failure } = operation.provisioning;
  return {
    id: operation.groupId,
    status,
    startTime: new Date(operation.provisioning.startedAt).toISOString(),
    ...(status === 'Failed' && failure && { error: { code: failure.code, message: failure.message } }),
    properties: { events: [] },
  };
}
