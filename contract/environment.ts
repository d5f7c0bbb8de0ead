// Environment variables as a kubelet builds them: envFrom first, then env in order, later names
// overriding earlier ones, `$(NAME)` references expanded. ACI receives the final values; anything that
// comes from a Secret (directly or through an expansion) goes as `secureValue`, never as `value`.
import type { EnvironmentVariable } from '@azure/arm-containerinstance';
import type { V1Container, V1EnvFromSource, V1EnvVar, V1EnvVarSource } from '@kubernetes/client-node';
import { type Context, readKey, readObject, refuse } from './context.ts';
import { fieldValue, resourceValue } from './downward.ts';

export interface ResolvedVariable {
  /** `undefined` when only the spec is checked and the value lives in a referenced object. */
  value: string | undefined;
  /** The value came from a Secret: it must never travel as plain text. */
  secure: boolean;
}

export type Environment = Map<string, ResolvedVariable>;

/**
 * Kubernetes' `$(NAME)` expansion: a defined name is replaced, an undefined one is kept as written,
 * `$$` is a literal `$`. The result is secure when any expanded variable was.
 */
export function expand(text: string, environment: Environment): { text: string; secure: boolean } {
  let secure = false;
  const expanded = text.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    const variable = environment.get(name);
    if (variable?.value === undefined) {
      secure ||= variable?.secure ?? false;
      return match;
    }
    secure ||= variable.secure;
    return variable.value;
  });
  return { text: expanded, secure };
}

export function containerNamed(context: Context, name: string): V1Container | undefined {
  const spec = context.pod.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].find(
    (container) => container.name === name,
  );
}

function addFromSource(
  context: Context,
  environment: Environment,
  source: V1EnvFromSource,
  path: string,
): void {
  const reference = source.configMapRef
    ? { kind: 'ConfigMap' as const, name: source.configMapRef.name, optional: source.configMapRef.optional }
    : source.secretRef && {
        kind: 'Secret' as const,
        name: source.secretRef.name,
        optional: source.secretRef.optional,
      };
  if (!reference) return;
  const contents = readObject(context, path, reference);
  for (const [key, bytes] of contents ?? []) {
    environment.set(`${source.prefix ?? ''}${key}`, {
      value: bytes.toString('utf8'),
      secure: reference.kind === 'Secret',
    });
  }
}

function valueFromSource(
  context: Context,
  variable: V1EnvVar,
  path: string,
  container: V1Container,
): ResolvedVariable | undefined {
  const source = variable.valueFrom;
  const keyReference = source?.secretKeyRef
    ? { kind: 'Secret' as const, field: 'secretKeyRef', ...source.secretKeyRef }
    : source?.configMapKeyRef && {
        kind: 'ConfigMap' as const,
        field: 'configMapKeyRef',
        ...source.configMapKeyRef,
      };
  if (keyReference) {
    const bytes = readKey(context, `${path}.valueFrom.${keyReference.field}`, keyReference);
    // An absent optional key leaves the variable unset. Otherwise the value may be unknown (spec-only
    // check, or awaited) but its secrecy is not, and it decides what $(NAME) may be expanded into.
    if (bytes === undefined && context.objects && keyReference.optional === true) return undefined;
    return { value: bytes?.toString('utf8'), secure: keyReference.kind === 'Secret' };
  }
  return source && downwardVariable(context, source, `${path}.valueFrom`, container);
}

function downwardVariable(
  context: Context,
  source: V1EnvVarSource,
  path: string,
  container: V1Container,
): ResolvedVariable | undefined {
  let value: string | undefined;
  if (source.fieldRef) {
    value = fieldValue(context, `${path}.fieldRef`, source.fieldRef.fieldPath, false);
  } else if (source.resourceFieldRef) {
    const selector = source.resourceFieldRef;
    const target = selector.containerName ? containerNamed(context, selector.containerName) : container;
    value = resourceValue(context, `${path}.resourceFieldRef`, target, selector);
  } else {
    // A source this version does not know (fileKeyRef, or one added later) must not vanish silently.
    const kinds = Object.keys(source).filter((key) => (source as Record<string, unknown>)[key] !== undefined);
    refuse(
      context,
      `${path}.${kinds[0] ?? 'valueFrom'}`,
      `the variable's source (${kinds.join(', ') || 'empty'}) cannot be delivered to an ACI container`,
      'set the value directly, or take it from a ConfigMap or Secret key',
    );
  }
  return value === undefined ? undefined : { value, secure: false };
}

/** The container's final environment; `containerPath` is where it sits, e.g. `spec.containers[0]`. */
export function resolveEnvironment(
  context: Context,
  container: V1Container,
  containerPath: string,
): Environment {
  const environment: Environment = new Map();
  (container.envFrom ?? []).forEach((source, index) => {
    addFromSource(context, environment, source, `${containerPath}.envFrom[${index}]`);
  });
  (container.env ?? []).forEach((variable, index) => {
    const path = `${containerPath}.env[${index}]`;
    if (variable.valueFrom) {
      const resolved = valueFromSource(context, variable, path, container);
      if (resolved) environment.set(variable.name, resolved);
      return;
    }
    const { text, secure } = expand(variable.value ?? '', environment);
    environment.set(variable.name, { value: text, secure });
  });
  return environment;
}

export function toEnvironmentVariables(environment: Environment): EnvironmentVariable[] {
  return [...environment].map(([name, { value = '', secure }]) =>
    secure ? { name, secureValue: value } : { name, value },
  );
}
