// The webhook as the benchmarks run it: the real server and check, with references that read nothing
// (every Secret and ConfigMap absent, every ServiceAccount present), so only the webhook's own work counts.
import { checkPod, podReferences } from '../../contract/index.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { WebhookServer } from '../../webhook/server.ts';

export function benchWebhook(): WebhookServer {
  return new WebhookServer({
    logger: silentLogger(),
    registry: createRegistry({ component: 'bench-webhook', processMetrics: false }),
    check: checkPod,
    references: podReferences,
    reader: {
      configMap: () => Promise.resolve(undefined),
      secret: () => Promise.resolve(undefined),
      serviceAccount: (_namespace, name) => Promise.resolve({ metadata: { name } }),
      claim: () => Promise.resolve(undefined),
      persistentVolume: () => Promise.resolve(undefined),
    },
    schedulerName: 'aci-burst-scheduler',
  });
}
