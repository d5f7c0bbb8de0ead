// The MutatingWebhookConfiguration, built in one place: manifests/webhook/ holds its YAML (a test keeps
// the two equal), and a local run registers the same object pointing at a URL instead of the Service.
//
// The API server does the selecting, so the webhook never looks up a namespace:
// - `burst.aci-burst.azure.com` (path /mutate/burst): pods in namespaces labelled azure.com/aci-burst=enabled
//   that carry no azure.com/aci label. failurePolicy Ignore: during a webhook outage such pods are admitted
//   without the toleration (they simply do not burst) instead of every pod in those namespaces failing.
// - `required.aci-burst.azure.com` (path /mutate/required): pods labelled azure.com/aci=required, any namespace.
//   failurePolicy Fail: a pod that must run on ACI may not slip past validation during an outage.
// The object selectors are disjoint, so each pod is sent at most once; pods labelled never match neither.
import type {
  AdmissionregistrationV1Api,
  V1LabelSelector,
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import {
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  PLACEMENT_LABEL,
  PROJECT_NAME,
} from '../contract/index.ts';
import { ClassifiedError } from '../runtime/errors.ts';
import type { WebhookEntry } from './decision.ts';
import { unlessKind } from '../runtime/kubernetes-calls.ts';

export const WEBHOOK_NAMES: Record<WebhookEntry, string> = {
  burst: 'burst.aci-burst.azure.com',
  required: 'required.aci-burst.azure.com',
};

export const WEBHOOK_PATHS: Record<WebhookEntry, string> = {
  burst: '/mutate/burst',
  required: '/mutate/required',
};

/** Short: the API server holds the user's `kubectl apply` while it waits. */
const TIMEOUT_SECONDS = 5;
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export type WebhookTarget =
  | { service: { namespace: string; name: string; port: number } }
  /** `https://host:port`, for runs outside the cluster; the paths are appended. */
  | { url: string };

export interface ConfigurationOptions {
  name: string;
  /** The webhook's own namespace: never sent to the webhook, so its own pods start even when it is down. */
  namespace: string;
  target: WebhookTarget;
  caBundlePem?: string;
}

export function webhookConfiguration(options: ConfigurationOptions): V1MutatingWebhookConfiguration {
  const notSystem = {
    key: NAMESPACE_NAME_LABEL,
    operator: 'NotIn',
    values: ['kube-system', options.namespace],
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: options.name,
      labels: {
        'app.kubernetes.io/name': `${PROJECT_NAME}-webhook`,
        'app.kubernetes.io/part-of': PROJECT_NAME,
      },
    },
    webhooks: [
      webhook(options, 'burst', 'Ignore', {
        namespaceSelector: {
          matchExpressions: [
            notSystem,
            { key: BURST_NAMESPACE_LABEL, operator: 'In', values: [BURST_NAMESPACE_ENABLED] },
          ],
        },
        objectSelector: {
          matchExpressions: [{ key: PLACEMENT_LABEL, operator: 'NotIn', values: ['never', 'required'] }],
        },
      }),
      webhook(options, 'required', 'Fail', {
        namespaceSelector: { matchExpressions: [notSystem] },
        objectSelector: {
          matchExpressions: [{ key: PLACEMENT_LABEL, operator: 'In', values: ['required'] }],
        },
      }),
    ],
  };
}

function webhook(
  options: ConfigurationOptions,
  entry: WebhookEntry,
  failurePolicy: 'Ignore' | 'Fail',
  selectors: { namespaceSelector: V1LabelSelector; objectSelector: V1LabelSelector },
): V1MutatingWebhook {
  const path = WEBHOOK_PATHS[entry];
  const caBundle =
    options.caBundlePem === undefined
      ? {}
      : { caBundle: Buffer.from(options.caBundlePem).toString('base64') };
  return {
    name: WEBHOOK_NAMES[entry],
    admissionReviewVersions: ['v1'],
    clientConfig:
      'service' in options.target
        ? { service: { ...options.target.service, path }, ...caBundle }
        : { url: `${options.target.url.replace(/\/+$/, '')}${path}`, ...caBundle },
    rules: [
      {
        operations: ['CREATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ],
    failurePolicy,
    matchPolicy: 'Equivalent',
    ...selectors,
    sideEffects: 'None',
    timeoutSeconds: TIMEOUT_SECONDS,
    // The patch is idempotent, so being called again after a later webhook rewrote the tolerations is safe
    // and puts the toleration back.
    reinvocationPolicy: 'IfNeeded',
  };
}

/** The calls made on MutatingWebhookConfigurations; `false` from a write means someone else wrote first. */
export interface WebhookConfigurations {
  read(name: string): Promise<V1MutatingWebhookConfiguration | undefined>;
  create(configuration: V1MutatingWebhookConfiguration): Promise<boolean>;
  /** Replaces the object whose `metadata.resourceVersion` is given. */
  replace(configuration: V1MutatingWebhookConfiguration): Promise<boolean>;
}

const MAX_UPDATE_ATTEMPTS = 5;

/**
 * Read-modify-write with optimistic concurrency: `change` gets the current object (or `undefined`) and
 * returns what it should be, or `undefined` to leave it. Replicas patching the caBundle together retry on 409.
 */
export async function updateWebhookConfiguration(
  api: WebhookConfigurations,
  name: string,
  change: (current: V1MutatingWebhookConfiguration | undefined) => V1MutatingWebhookConfiguration | undefined,
): Promise<'written' | 'unchanged'> {
  for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
    const current = await api.read(name);
    const desired = change(current);
    if (desired === undefined) return 'unchanged';
    const written =
      current === undefined
        ? await api.create(desired)
        : await api.replace({
            ...desired,
            metadata: { ...desired.metadata, name, resourceVersion: current.metadata?.resourceVersion },
          });
    if (written) return 'written';
  }
  throw new ClassifiedError(
    'Conflict',
    `MutatingWebhookConfiguration ${name} kept changing during ${MAX_UPDATE_ATTEMPTS} attempts`,
  );
}

/** Every entry trusts `caPem`; `undefined` when they already do or the configuration is not installed. */
export function withCaBundle(
  current: V1MutatingWebhookConfiguration | undefined,
  caPem: string,
): V1MutatingWebhookConfiguration | undefined {
  if (current === undefined) return undefined;
  const caBundle = Buffer.from(caPem).toString('base64');
  const webhooks = current.webhooks ?? [];
  if (webhooks.every((entry) => entry.clientConfig.caBundle === caBundle)) return undefined;
  return {
    ...current,
    webhooks: webhooks.map((entry) => ({ ...entry, clientConfig: { ...entry.clientConfig, caBundle } })),
  };
}

export function kubernetesWebhookConfigurations(api: AdmissionregistrationV1Api): WebhookConfigurations {
  return {
    read: (name) => unlessKind(api.readMutatingWebhookConfiguration({ name }), 'NotFound'),
    create: async (body) =>
      (await unlessKind(api.createMutatingWebhookConfiguration({ body }), 'Conflict')) !== undefined,
    replace: async (body) =>
      (await unlessKind(
        api.replaceMutatingWebhookConfiguration({ name: body.metadata?.name ?? '', body }),
        'Conflict',
      )) !== undefined,
  };
}

/**
 * How the CA reaches the API server. Behind a Service the configuration comes from manifests/ and only
 * its caBundle is ours to set; in URL mode the webhook owns the whole object. Files mounted by
 * cert-manager carry no CA here: its cainjector fills the caBundle. Idempotent, so it runs on every
 * certificate refresh and writes only when something differs.
 */
export async function publishCa(
  api: WebhookConfigurations,
  options: { name: string; namespace: string; url: URL | undefined },
  caPem: string | undefined,
): Promise<'written' | 'unchanged'> {
  if (caPem === undefined) return 'unchanged';
  const { url } = options;
  if (url === undefined)
    return updateWebhookConfiguration(api, options.name, (current) => withCaBundle(current, caPem));
  const desired = webhookConfiguration({ ...options, target: { url: url.origin }, caBundlePem: caPem });
  return updateWebhookConfiguration(api, options.name, (current) =>
    current && contains(current, desired) ? undefined : desired,
  );
}

/** Whether `actual` has every value `expected` sets; fields the API server defaulted are ignored. */
export function contains(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, index) => contains(actual[index], item))
    );
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(expected).every(
      ([key, value]) => value === undefined || contains(record[key], value),
    );
  }
  return actual === expected;
}
