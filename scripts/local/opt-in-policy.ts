// The shipped opt-in ValidatingAdmissionPolicy (manifests/connector/opt-in-policy.yaml), read from the
// file and installed on a local cluster with its two settings filled in, as an operator edits them:
// the virtual nodes and the allow-listed namespaces. Its objects get their own name, so a test or the
// demo can install one beside another's on a shared cluster, and remove exactly its own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  loadAllYaml,
  type KubeConfig,
  type V1ValidatingAdmissionPolicy,
  type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { unlessKind } from '../../runtime/kubernetes-calls.ts';
import { REPO_ROOT } from './node-process.ts';

export interface OptInSettings {
  /** Name of the policy and its binding. */
  name: string;
  virtualNodes: readonly string[];
  allowedNamespaces: readonly string[];
}

/** The shipped policy and binding with `settings` filled in. */
export function optInPolicy(settings: OptInSettings): {
  policy: V1ValidatingAdmissionPolicy;
  binding: V1ValidatingAdmissionPolicyBinding;
} {
  const objects = loadAllYaml(
    readFileSync(join(REPO_ROOT, 'manifests', 'connector', 'opt-in-policy.yaml'), 'utf8'),
  ) as (V1ValidatingAdmissionPolicy | V1ValidatingAdmissionPolicyBinding)[];
  const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy') as V1ValidatingAdmissionPolicy;
  const binding = objects.find(
    (o) => o.kind === 'ValidatingAdmissionPolicyBinding',
  ) as V1ValidatingAdmissionPolicyBinding;
  const values: Record<string, readonly string[]> = {
    virtualNodes: settings.virtualNodes,
    allowedNamespaces: settings.allowedNamespaces,
  };
  for (const variable of policy.spec?.variables ?? []) {
    const value = values[variable.name];
    if (value !== undefined) variable.expression = JSON.stringify(value);
  }
  policy.metadata = { ...policy.metadata, name: settings.name };
  binding.metadata = { ...binding.metadata, name: settings.name };
  binding.spec = { ...binding.spec, policyName: settings.name };
  return { policy, binding };
}

/** Installs the policy (replacing one of the same name); the returned function removes it. */
export async function installOptInPolicy(
  kubeConfig: KubeConfig,
  settings: OptInSettings,
): Promise<() => Promise<void>> {
  const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const { policy, binding } = optInPolicy(settings);
  const remove = async (): Promise<void> => {
    await unlessKind(admission.deleteValidatingAdmissionPolicyBinding({ name: settings.name }), 'NotFound');
    await unlessKind(admission.deleteValidatingAdmissionPolicy({ name: settings.name }), 'NotFound');
  };
  await remove();
  await admission.createValidatingAdmissionPolicy({ body: policy });
  await admission.createValidatingAdmissionPolicyBinding({ body: binding });
  return remove;
}
