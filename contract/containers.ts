// One Kubernetes container -> one ACI container (or init container): image, command line,
// environment, ports, resources, probes, mounts and security settings.
import type {
  Container,
  ContainerPort,
  GpuResource,
  InitContainerDefinition,
  SecurityContextDefinition,
  VolumeMount,
} from '@azure/arm-containerinstance';
import type { V1Container } from '@kubernetes/client-node';
import { compact, type Context, refuse, remainingBudget, spend } from './context.ts';
import { type Environment, expand, resolveEnvironment, toEnvironmentVariables } from './environment.ts';
import { applyImageConfig } from './image-config.ts';
import { applyRefusals, CONTAINER_REFUSALS } from './pod-fields.ts';
import { refuseStartupProbe, translateProbe } from './probes.ts';
import { translateResources } from './resources.ts';

/** Everything a container translation needs besides the container itself. */
export interface ContainerInputs {
  path: string;
  mounts: VolumeMount[];
  gpu: GpuResource | undefined;
}

/**
 * ACI has one `command` that replaces the image's entrypoint and arguments together, so Kubernetes'
 * command and args are joined, after the kubelet's `$(NAME)` expansion (which never touches the
 * image's own ENTRYPOINT). Args alone, and a working directory, need the image's configuration:
 * applyImageConfig combines them as a container runtime would.
 */
function commandLine(
  context: Context,
  container: V1Container,
  path: string,
  environment: Environment,
): string[] | undefined {
  const { command, args } = container;
  const parts = [
    ...(command ?? []).map((part, index) => ({ part, at: `command[${index}]` })),
    ...(args ?? []).map((part, index) => ({ part, at: `args[${index}]` })),
  ];
  const own = parts.map(({ part, at }) => {
    const { text, secure } = expand(part, environment, remainingBudget(context));
    if (!spend(context, `${path}.${at}`, text.length)) return '';
    if (secure) {
      refuse(
        context,
        `${path}.${at}`,
        'the command line takes a value from a Secret, and ACI stores command lines in plain text',
        'read the variable in the program or a shell (sh -c \'exec app --token "$TOKEN"\') instead of $(TOKEN)',
      );
    }
    return text;
  });
  return applyImageConfig(context, container, path, own.length > 0 ? own : undefined);
}

function translatePorts(context: Context, container: V1Container, path: string): ContainerPort[] {
  return (container.ports ?? []).flatMap((port, index) => {
    const at = `${path}.ports[${index}]`;
    const protocol = port.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      refuse(context, `${at}.protocol`, `ACI exposes TCP and UDP ports, not ${protocol}`, 'use TCP or UDP');
      return [];
    }
    if (port.hostPort !== undefined && port.hostPort !== port.containerPort) {
      refuse(
        context,
        `${at}.hostPort`,
        "ACI exposes a container port on the group's IP address under the same number; it cannot map it to another",
        'remove hostPort or make it equal to containerPort',
      );
    }
    if (port.hostIP) {
      refuse(
        context,
        `${at}.hostIP`,
        'an ACI container group has no host address to bind to',
        'remove hostIP',
      );
    }
    return [{ port: port.containerPort, protocol }];
  });
}

/** runAsNonRoot is a check a kubelet makes against the image's user; ACI cannot make it. */
function refuseUncheckableNonRoot(context: Context, container: V1Container, path: string): void {
  const own = container.securityContext ?? {};
  const pod = context.pod.spec?.securityContext ?? {};
  const runAsUser = own.runAsUser ?? pod.runAsUser;
  if ((own.runAsNonRoot ?? pod.runAsNonRoot) !== true || (runAsUser !== undefined && runAsUser !== 0)) return;
  refuse(
    context,
    own.runAsNonRoot === undefined
      ? 'spec.securityContext.runAsNonRoot'
      : `${path}.securityContext.runAsNonRoot`,
    'ACI cannot check which user the image runs as, so runAsNonRoot cannot be enforced',
    'also set runAsUser to a non-zero user ID (which makes runAsNonRoot true by construction)',
  );
}

/**
 * The container's user and privileges. Pod-level runAsUser and runAsGroup apply to every container
 * that sets none, as in Kubernetes.
 */
function securityContext(
  context: Context,
  container: V1Container,
  path: string,
): SecurityContextDefinition | undefined {
  const own = container.securityContext ?? {};
  const pod = context.pod.spec?.securityContext ?? {};
  refuseUncheckableNonRoot(context, container, path);
  const definition: SecurityContextDefinition = compact({
    privileged: own.privileged,
    allowPrivilegeEscalation: own.allowPrivilegeEscalation,
    capabilities: own.capabilities && { ...own.capabilities },
    runAsUser: own.runAsUser ?? pod.runAsUser,
    runAsGroup: own.runAsGroup ?? pod.runAsGroup,
  });
  return Object.keys(definition).length > 0 ? definition : undefined;
}

/** The parts app and init containers share. */
function commonParts(
  context: Context,
  container: V1Container,
  inputs: ContainerInputs,
): InitContainerDefinition {
  const { path, mounts } = inputs;
  applyRefusals(context, CONTAINER_REFUSALS, container, path);
  if (!container.image) refuse(context, `${path}.image`, 'the container names no image', 'set image');
  const environment = resolveEnvironment(context, container, path);
  const command = commandLine(context, container, path, environment);
  const variables = toEnvironmentVariables(environment);
  const security = securityContext(context, container, path);
  return {
    name: container.name,
    image: container.image ?? '',
    ...(command ? { command } : {}),
    ...(variables.length > 0 ? { environmentVariables: variables } : {}),
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
    ...(security ? { securityContext: security } : {}),
  };
}

export function translateContainer(
  context: Context,
  container: V1Container,
  inputs: ContainerInputs,
): Container {
  const { path, gpu } = inputs;
  const common = commonParts(context, container, inputs);
  const ports = translatePorts(context, container, path);
  const resources = translateResources(context, container, path, gpu);
  refuseStartupProbe(context, container, path);
  const livenessProbe = translateProbe(context, container, container.livenessProbe, `${path}.livenessProbe`);
  const readinessProbe = translateProbe(
    context,
    container,
    container.readinessProbe,
    `${path}.readinessProbe`,
  );
  const { name, image = '', ...rest } = common;
  return {
    name,
    image,
    ...rest,
    ...(ports.length > 0 ? { ports } : {}),
    resources,
    ...(livenessProbe ? { livenessProbe } : {}),
    ...(readinessProbe ? { readinessProbe } : {}),
  };
}

/** Init containers: ACI runs them in order before the app containers, without ports or probes. */
export function translateInitContainer(
  context: Context,
  container: V1Container,
  inputs: ContainerInputs,
): InitContainerDefinition {
  if (container.ports?.length) {
    refuse(context, `${inputs.path}.ports`, 'ACI init containers cannot expose ports', 'remove the ports');
  }
  return commonParts(context, container, inputs);
}
