// The node and namespace caches behind ClusterView: two informers (list, then watch), started by
// main.ts. In NodeNames mode the scheduler sends only names, so labels and the connector's quota
// annotations come from here (runtime/informer.ts keeps them alive through watch failures).
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { type InformerContext, watchNamespaces, watchResource } from '../runtime/informer.ts';
import type { ClusterView } from './protocol.ts';

/** Starts the informers; they stop when `signal` aborts. */
export function watchCluster(kubeConfig: KubeConfig, context: InformerContext): ClusterView {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const nodes = watchResource<V1Node>(
    kubeConfig,
    { name: 'nodes', path: '/api/v1/nodes', list: () => core.listNode() },
    context,
  );
  const namespaces = watchNamespaces(kubeConfig, context);
  return {
    node: (name) => nodes.get(name),
    namespace: (name) => namespaces.get(name),
    notReadyReasons: () => [
      ...(nodes.synced() ? [] : ['node cache not synced']),
      ...(namespaces.synced() ? [] : ['namespace cache not synced']),
    ],
  };
}
