// Pod and container fields ACI has no counterpart for. Each is refused with its path, the reason and
// a way out, never dropped in silence. The pod-field page (docs/pod-fields.md) is generated from these
// tables by scripts/docs.ts. Fields that depend on the image's configuration (args without command,
// workingDir) are the connector's to decide: contract/image-config.ts IMAGE_DEPENDENT_FIELDS.
import type {
  V1Container,
  V1PodSecurityContext,
  V1PodSpec,
  V1SecurityContext,
} from '@kubernetes/client-node';
import { type Context, refuse } from './context.ts';

export interface Refusal<T> {
  /** The field, relative to its owner: `hostNetwork`, `securityContext.sysctls`. */
  field: string;
  applies: (owner: T) => boolean;
  message: string;
  fix: string;
  /** Other fields the same rule refuses, named beside `field` on the pod-field page. */
  alsoFields?: readonly string[];
  /** The one value still accepted, for the pod-field page ("refused unless `linux`"). */
  accepted?: string;
}

const set = (value: unknown): boolean => value !== undefined && value !== null && value !== '';
const nonEmpty = (list: readonly unknown[] | undefined): boolean => (list ?? []).length > 0;
const notRuntimeDefault = (profile: { type: string } | undefined): boolean =>
  profile !== undefined && profile.type !== 'RuntimeDefault';
const KEEP_ON_NODE = 'keep the pod on a real node (label it azure.com/aci=never)';
/** Lifecycle hooks run by the connector (connector/hooks.ts): exec, httpGet on a declared port, sleep. */
const HOOKS = ['postStart', 'preStop'] as const;

/** An httpGet hook port the container does not declare (by number or name): not on the group's IP. */
function undeclaredPort(container: V1Container, port: number | string | undefined): boolean {
  if (port === undefined) return false;
  const declared = container.ports ?? [];
  return !declared.some((entry) =>
    typeof port === 'number' || /^\d+$/.test(port)
      ? entry.containerPort === Number(port)
      : entry.name === port,
  );
}

/** Security settings pods and containers share. */
const SECURITY_REFUSALS: readonly Refusal<V1SecurityContext | V1PodSecurityContext>[] = [
  {
    field: 'securityContext.seLinuxOptions',
    applies: (context) => set(context.seLinuxOptions),
    message: 'ACI does not apply SELinux labels',
    fix: 'remove seLinuxOptions',
  },
  {
    field: 'securityContext.seccompProfile',
    applies: (context) => notRuntimeDefault(context.seccompProfile),
    message: 'ACI runs containers with its default seccomp profile only',
    fix: 'remove seccompProfile or set its type to RuntimeDefault',
    accepted: 'RuntimeDefault',
  },
  {
    field: 'securityContext.appArmorProfile',
    applies: (context) => notRuntimeDefault(context.appArmorProfile),
    message: 'ACI does not load AppArmor profiles',
    fix: 'remove appArmorProfile or set its type to RuntimeDefault',
    accepted: 'RuntimeDefault',
  },
];

export const POD_REFUSALS: readonly Refusal<V1PodSpec>[] = [
  {
    field: 'hostNetwork',
    applies: (spec) => spec.hostNetwork === true,
    message: 'an ACI container group has no host whose network it could share',
    fix: `remove hostNetwork, or ${KEEP_ON_NODE}`,
  },
  {
    field: 'hostPID',
    applies: (spec) => spec.hostPID === true,
    message: 'an ACI container group has no host whose processes it could see',
    fix: `remove hostPID, or ${KEEP_ON_NODE}`,
  },
  {
    field: 'hostIPC',
    applies: (spec) => spec.hostIPC === true,
    message: 'an ACI container group has no host whose IPC namespace it could share',
    fix: `remove hostIPC, or ${KEEP_ON_NODE}`,
  },
  {
    field: 'shareProcessNamespace',
    applies: (spec) => spec.shareProcessNamespace === true,
    message: 'ACI cannot make the containers of a group share one process namespace',
    fix: 'remove shareProcessNamespace',
  },
  {
    field: 'hostAliases',
    applies: (spec) => nonEmpty(spec.hostAliases),
    message: "ACI cannot add entries to the containers' /etc/hosts",
    fix: 'use DNS names, or write the entries in the image',
  },
  {
    field: 'hostname',
    applies: (spec) => set(spec.hostname) || set(spec.hostnameOverride),
    message: "ACI chooses the containers' host name itself",
    fix: 'remove hostname',
    alsoFields: ['hostnameOverride'],
  },
  {
    field: 'subdomain',
    applies: (spec) => set(spec.subdomain) || spec.setHostnameAsFQDN === true,
    message: "ACI chooses the containers' host name itself, so it cannot carry a subdomain",
    fix: 'remove subdomain and setHostnameAsFQDN',
    alsoFields: ['setHostnameAsFQDN'],
  },
  {
    field: 'activeDeadlineSeconds',
    applies: (spec) => spec.activeDeadlineSeconds !== undefined,
    message: 'ACI does not stop a container group after a deadline',
    fix: 'set the deadline on the Job (spec.activeDeadlineSeconds of the Job) instead of the pod',
  },
  {
    field: 'ephemeralContainers',
    applies: (spec) => nonEmpty(spec.ephemeralContainers),
    message: 'ACI cannot add containers to a running container group',
    fix: 'use kubectl exec instead of kubectl debug',
  },
  {
    field: 'os',
    applies: (spec) => spec.os !== undefined && spec.os.name !== 'linux',
    message: 'this connector runs Linux container groups only',
    fix: `set os.name to linux, or ${KEEP_ON_NODE}`,
    accepted: 'linux',
  },
  {
    field: 'runtimeClassName',
    applies: (spec) => set(spec.runtimeClassName),
    message: 'ACI has one runtime; it cannot honour a RuntimeClass',
    fix: 'remove runtimeClassName',
  },
  {
    field: 'resourceClaims',
    applies: (spec) => nonEmpty(spec.resourceClaims),
    message: 'ACI cannot attach dynamically allocated devices (resource claims)',
    fix: KEEP_ON_NODE,
  },
  {
    field: 'resources',
    applies: (spec) => set(spec.resources?.requests) || set(spec.resources?.limits),
    message: 'ACI sizes a container group from its containers; it has no pod-level resources',
    fix: 'move the resources to the containers',
  },
  {
    field: 'securityContext.fsGroup',
    applies: (spec) => spec.securityContext?.fsGroup !== undefined,
    message: "ACI cannot change the group owner of volumes or add the group to the containers' processes",
    fix: "remove fsGroup; make the image's user able to write where it needs to",
  },
  {
    field: 'securityContext.supplementalGroups',
    applies: (spec) => nonEmpty(spec.securityContext?.supplementalGroups),
    message: "ACI cannot add supplemental groups to the containers' processes",
    fix: 'remove supplementalGroups',
  },
  {
    field: 'securityContext.sysctls',
    applies: (spec) => nonEmpty(spec.securityContext?.sysctls),
    message: 'ACI does not let a container group set kernel parameters',
    fix: `remove sysctls, or ${KEEP_ON_NODE}`,
  },
  ...SECURITY_REFUSALS.map((refusal) => ({
    ...refusal,
    applies: (spec: V1PodSpec) => spec.securityContext !== undefined && refusal.applies(spec.securityContext),
  })),
];

export const CONTAINER_REFUSALS: readonly Refusal<V1Container>[] = [
  ...HOOKS.flatMap((hook): Refusal<V1Container>[] => [
    {
      field: `lifecycle.${hook}.tcpSocket`,
      applies: (container) => container.lifecycle?.[hook]?.tcpSocket !== undefined,
      message: 'a tcpSocket hook is deprecated and not run (a kubelet does not run it either)',
      fix: 'use an exec, httpGet or sleep hook',
    },
    {
      field: `lifecycle.${hook}.httpGet.host`,
      applies: (container) => set(container.lifecycle?.[hook]?.httpGet?.host),
      message: "the connector calls httpGet hooks on the container group's own IP address only",
      fix: 'remove host (or use an exec hook that calls the other host)',
    },
    {
      field: `lifecycle.${hook}.httpGet.port`,
      applies: (container) => undeclaredPort(container, container.lifecycle?.[hook]?.httpGet?.port),
      message:
        "the connector calls httpGet hooks on the container group's IP address, which serves only the ports the container declares",
      fix: "declare the hook's port in the container's ports, or use an exec hook",
    },
  ]),
  {
    field: 'lifecycle.stopSignal',
    applies: (container) => set(container.lifecycle?.stopSignal),
    message: 'ACI chooses the stop signal itself',
    fix: 'remove stopSignal and handle SIGTERM',
  },
  {
    field: 'stdin',
    applies: (container) => container.stdin === true,
    message: "ACI cannot keep a container's standard input open for attach",
    fix: 'remove stdin (use kubectl exec to get a shell)',
  },
  {
    field: 'tty',
    applies: (container) => container.tty === true,
    message: "ACI cannot give a container's main process a terminal",
    fix: 'remove tty (kubectl exec -t still gets one)',
  },
  {
    field: 'volumeDevices',
    applies: (container) => nonEmpty(container.volumeDevices),
    message: 'ACI cannot attach raw block devices',
    fix: KEEP_ON_NODE,
  },
  {
    field: 'restartPolicy',
    applies: (container) => set(container.restartPolicy) || nonEmpty(container.restartPolicyRules),
    message:
      "ACI restarts containers by the group's restart policy only: it has no per-container restart policy and no sidecar init containers",
    fix: "remove the container's restartPolicy; move a sidecar init container to spec.containers",
    alsoFields: ['restartPolicyRules'],
  },
  {
    field: 'securityContext.readOnlyRootFilesystem',
    applies: (container) => container.securityContext?.readOnlyRootFilesystem === true,
    message: "ACI cannot mount a container's root file system read-only",
    fix: 'remove readOnlyRootFilesystem',
  },
  {
    field: 'securityContext.procMount',
    applies: (container) =>
      set(container.securityContext?.procMount) && container.securityContext?.procMount !== 'Default',
    message: 'ACI mounts /proc its own way',
    fix: 'remove procMount',
    accepted: 'Default',
  },
  ...SECURITY_REFUSALS.map((refusal) => ({
    ...refusal,
    applies: (container: V1Container) =>
      container.securityContext !== undefined && refusal.applies(container.securityContext),
  })),
];

/** Records a problem for every refusal that applies to `owner` at `path` (`spec`, `spec.containers[1]`). */
export function applyRefusals<T>(
  context: Context,
  refusals: readonly Refusal<T>[],
  owner: T,
  path: string,
): void {
  for (const refusal of refusals) {
    if (refusal.applies(owner)) refuse(context, `${path}.${refusal.field}`, refusal.message, refusal.fix);
  }
}
