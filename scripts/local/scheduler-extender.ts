// The extender entry of the KubeSchedulerConfiguration shipped in manifests/extender/scheduler.yaml,
// pointed at a local extender process: a local scheduler runs with exactly the settings (verbs,
// weight, ignorable, nodeCacheCapable) an installed one gets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml, type V1ConfigMap } from '@kubernetes/client-node';
import type { SchedulerExtender } from '../controlplane/flags.ts';
import { REPO_ROOT } from './node-process.ts';

export const SHIPPED_SCHEDULER_MANIFEST = 'manifests/extender/scheduler.yaml';

export function shippedExtender(manifestYaml: string): SchedulerExtender {
  const objects = loadAllYaml(manifestYaml) as V1ConfigMap[];
  const configMap = objects.find((object) => object.kind === 'ConfigMap');
  const config = loadAllYaml(configMap?.data?.['config.yaml'] ?? '')[0] as
    { extenders?: SchedulerExtender[] } | undefined;
  const shipped = config?.extenders?.[0];
  if (shipped === undefined) throw new Error(`${SHIPPED_SCHEDULER_MANIFEST} has no extender entry`);
  return shipped;
}

/** The shipped entry calling `https://127.0.0.1:<port>` and trusting `caPem`. */
export function localExtender(port: number, caPem: string): SchedulerExtender {
  const shipped = shippedExtender(readFileSync(join(REPO_ROOT, SHIPPED_SCHEDULER_MANIFEST), 'utf8'));
  return {
    ...shipped,
    urlPrefix: `https://127.0.0.1:${port}`,
    tlsConfig: { caData: Buffer.from(caPem).toString('base64') },
  };
}
