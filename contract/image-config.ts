// The image's own configuration (ENTRYPOINT, CMD, WORKDIR), as a container runtime applies it.
// ACI has one `command` that replaces the image's entrypoint and arguments together, and no
// working-directory setting, so two container fields can be honoured only with the image's
// configuration in hand: `args` without `command` and `workingDir`. Only the connector reads it (from
// the registry, connector/registry/); the webhook and the extender must not call registries on the
// admission and scheduling paths, so they accept these fields and leave the decision to the
// connector. This module stays pure: the configurations arrive as data (ReferencedObjects.images).
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { awaitSuppliedValue, type Context, refuse } from './context.ts';
import type { ImageConfig } from './types.ts';

/** A container field whose fate depends on the image's configuration. */
export interface ImageDependentField {
  /** The field, relative to its container. */
  field: string;
  applies: (container: V1Container) => boolean;
  /** How the connector decides, in the words of the pod-field page (docs/pod-fields.md). */
  decision: string;
}

const hasArgsOnly = (container: V1Container): boolean =>
  (container.args?.length ?? 0) > 0 && (container.command?.length ?? 0) === 0;

/** The capability table's entries for these fields (the pod-field page shows each one). */
export const IMAGE_DEPENDENT_FIELDS: readonly ImageDependentField[] = [
  {
    field: 'args',
    applies: hasArgsOnly,
    decision: "args without command run as the image's ENTRYPOINT followed by args (args alone without one)",
  },
  {
    field: 'workingDir',
    applies: (container) => (container.workingDir ?? '') !== '',
    decision:
      "a workingDir equal to the image's WORKDIR needs nothing; another is honoured only through a shell the operator names",
  },
];

export function needsImageConfig(container: V1Container): boolean {
  return IMAGE_DEPENDENT_FIELDS.some((entry) => entry.applies(container));
}

/**
 * The images whose configuration the translation needs, each once, in the order the pod names them:
 * what the connector must read from registries before it creates the group. Empty for most pods
 * (command set, or neither command nor args, and no workingDir): they never touch a registry.
 */
export function imageConfigRequests(pod: V1Pod): string[] {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return [...new Set(containers.filter(needsImageConfig).map((container) => container.image ?? ''))].filter(
    (image) => image !== '',
  );
}

/** The script that enters the directory ($0) and replaces itself with the program ("$@"). */
const ENTER_DIRECTORY = 'cd "$0" && exec "$@"';

/**
 * The image's configuration when the container needs it and the connector supplied it; records a
 * wait when it was due and is missing. `undefined` without `ReferencedObjects.images` (the webhook,
 * the extender): the fields are then accepted, the decision is the connector's.
 */
function suppliedConfig(context: Context, container: V1Container, path: string): ImageConfig | undefined {
  const images = context.objects?.images;
  if (images === undefined || !needsImageConfig(container)) return undefined;
  const config = images.get(container.image ?? '');
  if (config === undefined) {
    awaitSuppliedValue(context, `${path}.image`, `the configuration of image "${container.image ?? ''}"`);
  }
  return config;
}

/** Removes trailing slashes so `/srv/app/` and `/srv/app` name one directory. */
function directory(path: string): string {
  return path.replace(/(?<=.)\/+$/, '');
}

/**
 * The command line ACI runs, from the container's own command line (already expanded: `command` +
 * `args`, or `args` alone) and the image's configuration, as a container runtime combines them:
 * - command (with or without args): unchanged;
 * - args without command: ENTRYPOINT + args; without an ENTRYPOINT, args alone (they replace CMD);
 * - neither: no command, so ACI runs the image's own;
 * - workingDir other than WORKDIR: wrapped in `<shell> -c 'cd "$0" && exec "$@"' <dir> <program...>`
 *   when the operator named a shell (the image must contain it), else refused.
 */
export function applyImageConfig(
  context: Context,
  container: V1Container,
  path: string,
  own: string[] | undefined,
): string[] | undefined {
  const image = suppliedConfig(context, container, path);
  if (image === undefined) return own;
  const program = hasArgsOnly(container) ? [...image.entrypoint, ...(own ?? [])] : own;
  const wanted = container.workingDir ?? '';
  if (wanted === '' || directory(wanted) === directory(image.workingDir || '/')) return program;
  const shell = context.workingDirShell;
  if (shell === undefined) {
    refuse(
      context,
      `${path}.workingDir`,
      `ACI has no working-directory setting, and the image starts in "${image.workingDir || '/'}", not "${wanted}"`,
      `remove workingDir, set WORKDIR ${wanted} in the image, or ask the operator to set ACI_WORKING_DIR_SHELL (the image needs that shell)`,
    );
    return program;
  }
  const started = program ?? [...image.entrypoint, ...image.cmd];
  if (started.length === 0) {
    refuse(
      context,
      `${path}.workingDir`,
      'the image has no ENTRYPOINT or CMD to start in that directory',
      'set command',
    );
    return program;
  }
  return [shell, '-c', ENTER_DIRECTORY, wanted, ...started];
}
