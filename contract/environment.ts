// Environment variables as a kubelet builds them: envFrom first, then env in order, later names
// overriding earlier ones, `$(NAME)` references expanded. ACI receives the final values; anything that
// comes from a Secret (directly or through an expansion) goes as `secureValue`, never as `value`.
import type { EnvironmentVariable } from '@azure/arm-containerinstance';
import type { V1Container, V1EnvFromSource, V1EnvVar, V1EnvVarSource } from '@kubernetes/client-node';
import { type Context, readKey, readObject, refuse, remainingBudget, remembered, spend } from './context.ts';
import { fieldValue, resourceValue } from './downward.ts';

export interface ResolvedVariable {
  /** `undefined` when only the spec is checked and the value lives in a referenced object. */
  value: string | undefined;
  /** The value came from a Secret: it must never travel as plain text. */
  secure: boolean;
}

export type Environment = Map<string, ResolvedVariable>;

interface Token {
  start: number;
  end: number;
  /** `undefined` for `$$`. */
  name: string | undefined;
}

/**
 * The next `$$` or `$(NAME)` at or after `from`. `scan.close` remembers the next ")" (or -1 when none
 * is left, so no later "$(" can close either): each character is looked at a bounded number of times.
 */
function nextToken(text: string, from: number, scan: { close: number }): Token | undefined {
  let dollar = text.indexOf('$', from);
  while (dollar !== -1 && dollar < text.length - 1) {
    const next = text[dollar + 1];
    if (next === '$') return { start: dollar, end: dollar + 2, name: undefined };
    if (next === '(' && scan.close !== -1 && scan.close < dollar + 2) {
      scan.close = text.indexOf(')', dollar + 2);
    }
    if (next === '(' && scan.close !== -1) {
      return { start: dollar, end: scan.close + 1, name: text.slice(dollar + 2, scan.close) };
    }
    dollar = text.indexOf('$', dollar + 1);
  }
  return undefined;
}

const ESCAPED_DOLLAR: ResolvedVariable = { value: '$', secure: false };

/**
 * Kubernetes' `$(NAME)` expansion: a defined name is replaced, an undefined one is kept as written,
 * `$$` is a literal `$`. The result is secure when any expanded variable was. A scan, not a regex:
 * `$(` without a closing `)` would make a regex rescan the rest of the text from every `$(`. The text
 * stops growing once it is longer than `limit` (the caller refuses it then).
 */
export function expand(
  text: string,
  environment: Environment,
  limit = Number.POSITIVE_INFINITY,
): { text: string; secure: boolean } {
  let secure = false;
  const parts: string[] = [];
  let length = 0;
  let copied = 0;
  const scan = { close: -2 };
  for (
    let token = nextToken(text, 0, scan);
    token && length <= limit;
    token = nextToken(text, token.end, scan)
  ) {
    const variable = token.name === undefined ? ESCAPED_DOLLAR : environment.get(token.name);
    secure ||= variable?.secure ?? false;
    if (variable?.value === undefined) continue;
    const part = text.slice(copied, token.start) + variable.value;
    parts.push(part);
    length += part.length;
    copied = token.end;
  }
  if (length <= limit) parts.push(text.slice(copied));
  return { text: parts.join(''), secure };
}

/** The first container or init container of that name (indexed once per walk). */
export function containerNamed(context: Context, name: string): V1Container | undefined {
  const byName = remembered(context, 'containers by name', undefined, () => {
    const spec = context.pod.spec;
    const index = new Map<string, V1Container>();
    for (const container of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      if (!index.has(container.name)) index.set(container.name, container);
    }
    return index;
  });
  return byName.get(name);
}

/** Sets a variable, charging its size to the group's content budget; nothing is set past the budget. */
function setVariable(
  context: Context,
  environment: Environment,
  at: { path: string; name: string },
  variable: ResolvedVariable,
): void {
  if (spend(context, at.path, at.name.length + (variable.value?.length ?? 0))) {
    environment.set(at.name, variable);
  }
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
    const variable = { value: bytes.toString('utf8'), secure: reference.kind === 'Secret' };
    setVariable(context, environment, { path, name: `${source.prefix ?? ''}${key}` }, variable);
    if (remainingBudget(context) === 0) return;
  }
}

/**
 * The envFrom entries that decide the environment. Of entries naming the same object with the same
 * prefix, the first sets the variables' order and the last their values; those between change
 * nothing, so a list repeating one ConfigMap costs that ConfigMap twice, not once per entry.
 */
function decisiveSources(sources: readonly V1EnvFromSource[]): Set<number> {
  const identity = (source: V1EnvFromSource): string =>
    JSON.stringify([source.configMapRef?.name, source.secretRef?.name, source.prefix]);
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  sources.forEach((source, index) => {
    const key = identity(source);
    if (!first.has(key)) first.set(key, index);
    last.set(key, index);
  });
  return new Set([...first.values(), ...last.values()]);
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
  const sources = container.envFrom ?? [];
  const decisive = decisiveSources(sources);
  sources.forEach((source, index) => {
    if (decisive.has(index))
      addFromSource(context, environment, source, `${containerPath}.envFrom[${index}]`);
  });
  (container.env ?? []).forEach((variable, index) => {
    const at = { path: `${containerPath}.env[${index}]`, name: variable.name };
    if (variable.valueFrom) {
      const resolved = valueFromSource(context, variable, at.path, container);
      if (resolved) setVariable(context, environment, at, resolved);
      return;
    }
    const { text, secure } = expand(variable.value ?? '', environment, remainingBudget(context));
    setVariable(context, environment, at, { value: text, secure });
  });
  return environment;
}

export function toEnvironmentVariables(environment: Environment): EnvironmentVariable[] {
  return [...environment].map(([name, { value = '', secure }]) =>
    secure ? { name, secureValue: value } : { name, value },
  );
}
