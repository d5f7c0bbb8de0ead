// The node and namespace caches behind ClusterView: two informers (list, then watch), started by
// main.ts. In NodeNames mode the scheduler sends only names, so labels and the connector's quota
// annotations come from here. A failed watch keeps the last known objects and restarts with backoff.
import {
  CoreV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type V1Namespace,
  type V1Node,
} from '@kubernetes/client-node';
import { classifyKubernetesError } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';
import type { ClusterView } from './protocol.ts';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

interface Cache<T> {
  get(name: string): T | undefined;
  synced(): boolean;
}

function watchResource<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  resource: { name: string; path: string; list: ListPromise<T> },
  logger: Logger,
  signal: AbortSignal,
): Cache<T> {
  const informer = new ListWatch<T>(resource.path, new Watch(kubeConfig), resource.list, false);
  let synced = false;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: NodeJS.Timeout | undefined;

  const start = async (): Promise<void> => {
    await informer.start();
    // start() swallows a failed list (it reports it to 'error'): only a resource version proves one.
    if (informer.latestResourceVersion() !== '') {
      synced = true;
      retryMs = FIRST_RETRY_MS;
    }
  };
  const restartLater = (error: unknown): void => {
    if (signal.aborted || retryTimer !== undefined) return;
    const classified = classifyKubernetesError(error);
    logger.warn(
      { resource: resource.name, kind: classified.kind, error: classified.message, retryMs },
      'watch failed, restarting',
    );
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      start().catch(restartLater);
    }, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  informer.on('error', restartLater);
  signal.addEventListener(
    'abort',
    () => {
      clearTimeout(retryTimer);
      void informer.stop();
    },
    { once: true },
  );
  start().catch(restartLater);
  return { get: (name) => informer.get(name), synced: () => synced };
}

/** Starts the informers; they stop when `signal` aborts. */
export function watchCluster(kubeConfig: KubeConfig, logger: Logger, signal: AbortSignal): ClusterView {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const nodes = watchResource<V1Node>(
    kubeConfig,
    { name: 'nodes', path: '/api/v1/nodes', list: () => core.listNode() },
    logger,
    signal,
  );
  const namespaces = watchResource<V1Namespace>(
    kubeConfig,
    { name: 'namespaces', path: '/api/v1/namespaces', list: () => core.listNamespace() },
    logger,
    signal,
  );
  return {
    node: (name) => nodes.get(name),
    namespace: (name) => namespaces.get(name),
    notReadyReasons: () => [
      ...(nodes.synced() ? [] : ['node cache not synced']),
      ...(namespaces.synced() ? [] : ['namespace cache not synced']),
    ],
  };
}
