// Container-group JSON under fuzz, both ways:
//   - as ACI answers a GET: the body goes through the real SDK's deserializer (its HTTP client swapped
//     for one that returns the body), then through the connector's status mapping and event
//     forwarding; the pod status must be one the API server accepts;
//   - as the connector sends a PUT: the emulator's spec validation must accept it or refuse it with
//     an ARM error, never fail otherwise.
import { isIP } from 'node:net';
import { ContainerInstanceManagementClient, type ContainerGroup } from '@azure/arm-containerinstance';
import { createHttpHeaders, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { DEFAULT_ACI_LIMITS, DEFAULT_NETWORK_SETTINGS, toContainerGroup } from '../../contract/index.ts';
import { forwardableEvents } from '../../connector/aci-events.ts';
import { isProvisioning, podStatusFromGroup } from '../../connector/status.ts';
import { ArmError } from '../../test/emulator/arm-error.ts';
import { parseGroupSpec } from '../../test/emulator/spec.ts';
import { loadObjects, loadPod, type PodFixture } from '../../test/fixtures/pods/index.ts';
import type { Target } from './engine.ts';
import type { Random } from './random.ts';
import { hostileString, mutate, type Json, type JsonObject } from './values.ts';

const credential = {
  getToken: () => Promise.resolve({ token: 'fuzz', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** An SDK client whose every request is answered by `answer`, in process. */
function clientAnswering(
  answer: (request: PipelineRequest) => { status: number; body: string },
): ContainerInstanceManagementClient {
  return new ContainerInstanceManagementClient(credential, '00000000-0000-0000-0000-000000000000', {
    retryOptions: { maxRetries: 0 },
    httpClient: {
      sendRequest: (request): Promise<PipelineResponse> => {
        const { status, body } = answer(request);
        return Promise.resolve({
          status,
          headers: createHttpHeaders({ 'content-type': 'application/json' }),
          bodyAsText: body,
          request,
        });
      },
    },
  });
}

const RUNNABLE: readonly PodFixture[] = ['nginx-2017', 'init-container', 'gpu', 'deployment-web'];
const TOKENS = new Map([
  ['web||3607', 'eyJ.a'],
  ['web|vault|7200', 'eyJ.b'],
]);

/** The PUT bodies the SDK sends for the runnable fixtures, captured on their way out. */
async function putBodies(): Promise<{ pod: V1Pod; body: JsonObject }[]> {
  let captured = '';
  const client = clientAnswering((request) => {
    captured = typeof request.body === 'string' ? request.body : '';
    return { status: 400, body: '{"error":{"code":"Captured","message":"captured"}}' };
  });
  const bodies: { pod: V1Pod; body: JsonObject }[] = [];
  for (const fixture of RUNNABLE) {
    const pod = loadPod(fixture);
    const objects =
      fixture === 'deployment-web'
        ? loadObjects(fixture, { serviceAccountTokens: TOKENS, clusterCaPem: 'ca' })
        : { configMaps: new Map(), secrets: new Map(), serviceAccount: undefined };
    const translation = toContainerGroup(pod, objects, {
      region: 'westus',
      nodeName: 'aci-connector',
      clusterId: 'c',
      limits: DEFAULT_ACI_LIMITS,
      network: DEFAULT_NETWORK_SETTINGS,
    });
    if (translation.kind !== 'ready') continue;
    await client.containerGroups
      .beginCreateOrUpdate('aci-burst', translation.name, translation.group)
      .catch(() => undefined);
    bodies.push({ pod, body: JSON.parse(captured) as JsonObject });
  }
  return bodies;
}

const STATES = ['Running', 'Terminated', 'Waiting', 'Pending', '', 'x'];

/** A GET answer for a PUT body: provisioning state, IP and instance views as ACI adds them. */
function getAnswer(random: Random, put: JsonObject): JsonObject {
  const properties = put.properties as JsonObject;
  const view = (): JsonObject => ({
    restartCount: random.pick([0, 1, 3]),
    currentState: {
      state: random.pick(STATES),
      startTime: '2026-11-25T19:59:30Z',
      exitCode: random.pick([0, 1, 137]),
      detailStatus: random.pick(['', 'Completed', 'Error']),
    },
    previousState: {
      state: 'Terminated',
      startTime: '2026-11-25T19:58:30Z',
      finishTime: '2026-11-25T19:59:00Z',
      exitCode: 1,
    },
    events: [
      {
        count: 1,
        firstTimestamp: '2026-11-25T19:59:00Z',
        lastTimestamp: '2026-11-25T19:59:00Z',
        name: 'Pulling',
        message: 'pulling image',
        type: 'Normal',
      },
      {
        count: 2,
        firstTimestamp: '2026-11-25T19:59:10Z',
        name: random.pick(['Failed', 'BackOff']),
        message: random.pick(['pull access denied', 'back-off']),
        type: 'Warning',
      },
    ],
  });
  const withView = (containers: Json | undefined): Json[] =>
    (Array.isArray(containers) ? containers : []).map((container) => {
      const entry = container as JsonObject;
      return { ...entry, properties: { ...(entry.properties as JsonObject), instanceView: view() } };
    });
  return {
    ...put,
    id: '/subscriptions/s/resourceGroups/aci-burst/providers/Microsoft.ContainerInstance/containerGroups/g',
    name: 'g',
    properties: {
      ...properties,
      provisioningState: random.pick(['Succeeded', 'Creating', 'Pending', 'Failed', 'Unhealthy']),
      containers: withView(properties.containers),
      initContainers: withView(properties.initContainers),
      ipAddress: { ...(properties.ipAddress as JsonObject | undefined), ip: '20.1.2.3' },
      instanceView: { state: random.pick(['Running', 'Stopped', 'Failed']), events: [] },
    },
  };
}

function validTime(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && Number.isFinite(Date.parse(value)));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stateProblem(state: unknown): string | undefined {
  if (!isObject(state)) return 'state';
  const { terminated, running, waiting } = state;
  if (isObject(terminated)) {
    const valid =
      Number.isInteger(terminated.exitCode) &&
      validTime(terminated.startedAt) &&
      validTime(terminated.finishedAt);
    if (!valid) return 'terminated state';
  }
  if (isObject(running) && !validTime(running.startedAt)) return 'running state';
  if (isObject(waiting) && typeof waiting.reason !== 'string') return 'waiting state';
  return undefined;
}

function containerProblem(container: unknown): string | undefined {
  if (!isObject(container) || typeof container.name !== 'string' || typeof container.image !== 'string') {
    return 'container name or image';
  }
  const { ready, restartCount } = container;
  if (typeof ready !== 'boolean' || !Number.isInteger(restartCount) || (restartCount as number) < 0) {
    return 'ready or restartCount';
  }
  return stateProblem(container.state) ?? stateProblem(container.lastState);
}

/** What the API server would refuse in a pod status patch (the fields the connector writes). */
export function statusProblem(status: V1PodStatus): string | undefined {
  const sent = JSON.parse(JSON.stringify(status)) as Record<string, unknown>;
  if (!['Pending', 'Running', 'Succeeded', 'Failed'].includes(sent.phase as string)) return 'phase';
  if (!validTime(sent.startTime)) return 'startTime';
  if (sent.podIP !== undefined && (typeof sent.podIP !== 'string' || isIP(sent.podIP) === 0)) return 'podIP';
  const conditions = (sent.conditions ?? []) as Record<string, unknown>[];
  const badCondition = conditions.some(
    (condition) =>
      !['True', 'False', 'Unknown'].includes(condition.status as string) ||
      !validTime(condition.lastTransitionTime),
  );
  if (badCondition) return 'condition';
  const containers = [
    ...((sent.containerStatuses ?? []) as unknown[]),
    ...((sent.initContainerStatuses ?? []) as unknown[]),
  ];
  for (const container of containers) {
    const problem = containerProblem(container);
    if (problem) return problem;
  }
  return undefined;
}

function eventsProblem(group: ContainerGroup): string | undefined {
  const events = forwardableEvents(group);
  const valid = events.every(
    ({ id, event }) =>
      typeof id === 'string' &&
      ['Normal', 'Warning'].includes(event.type) &&
      typeof event.reason === 'string' &&
      event.reason !== '' &&
      typeof event.message === 'string',
  );
  return valid ? undefined : 'an event the API server would refuse';
}

export async function groupTargets(): Promise<Target[]> {
  const puts = await putBodies();
  let answer = '';
  const reader = clientAnswering(() => ({ status: 200, body: answer }));
  const status: Target = {
    name: 'group-status',
    weight: 20,
    run: async (random) => {
      const { pod, body } = random.pick(puts);
      const get = getAnswer(random, body);
      answer = random.chance(0.9)
        ? JSON.stringify(random.chance(0.8) ? mutate(random, get) : get)
        : hostileString(random);
      let group: ContainerGroup;
      try {
        group = await reader.containerGroups.get('aci-burst', 'g');
      } catch {
        return undefined; // the SDK refused the body before the connector saw it
      }
      isProvisioning(group);
      return (
        statusProblem(podStatusFromGroup(pod, group, { hostIP: '10.240.0.4', now: new Date() })) ??
        eventsProblem(group)
      );
    },
    close: () => Promise.resolve(undefined),
  };
  const spec: Target = {
    name: 'emulator-spec',
    weight: 15,
    run: (random) => {
      const body = mutate(random, random.pick(puts).body);
      const groupName = random.chance(0.9) ? 'shop-web' : hostileString(random);
      try {
        const parsed = parseGroupSpec(body, { groupName, regions: ['westus'], limits: DEFAULT_ACI_LIMITS });
        return Promise.resolve(
          Array.isArray(parsed.containers) && parsed.containers.length > 0
            ? undefined
            : 'a spec without containers',
        );
      } catch (error) {
        if (error instanceof ArmError) return Promise.resolve(undefined);
        throw error;
      }
    },
    close: () => Promise.resolve(undefined),
  };
  return [status, spec];
}
