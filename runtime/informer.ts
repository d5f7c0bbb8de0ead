// A list-then-watch cache of one kind of Kubernetes object (client-node's ListWatch), kept alive:
// ListWatch relists by itself on 410 Gone but stops on any other error (its start() even swallows a
// failed list), so a failure here restarts it with a capped backoff and the last known objects stay
// served meanwhile. Started by a process's entry point; stopped when `signal` aborts.
import {
  CoreV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type V1Namespace,
} from '@kubernetes/client-node';
import type { Cancel, Timers } from './clock.ts';
import { classifyKubernetesError } from './errors.ts';
import type { Logger } from './logger.ts';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export interface WatchedResource<T extends KubernetesObject> {
  /** For logs: `pods`, `nodes`... */
  name: string;
  /** The collection's URL path, e.g. `/api/v1/pods`. */
  path: string;
  list: ListPromise<T>;
  fieldSelector?: string;
  /** What the cache keeps of each object listed or watched (withoutManagedFields); default: all of it. */
  keep?: (object: T) => T;
}

export interface WatchedCache<T> {
  get(name: string, namespace?: string): T | undefined;
  list(): T[];
  /** True once a list succeeded: before it, an absent object may simply not be known yet. */
  synced(): boolean;
  /**
   * Calls `listener` with every object known now, then on every add, update and delete, until the
   * returned function is called: whoever reacts to changes subscribes itself, at its own start.
   */
  subscribe(listener: (object: T) => void): () => void;
}

/** What an informer runs with: it logs its restarts, waits out their backoff, and stops on `signal`. */
export interface InformerContext {
  logger: Logger;
  signal: AbortSignal;
  timers: Timers;
}

export function watchResource<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  resource: WatchedResource<T>,
  { logger, signal, timers }: InformerContext,
): WatchedCache<T> {
  const keep = resource.keep;
  const informer = new ListWatch<T>(
    resource.path,
    keep === undefined ? new Watch(kubeConfig) : new KeepingWatch(kubeConfig, keep),
    keep === undefined
      ? resource.list
      : async () => {
          const list = await resource.list();
          return { ...list, items: list.items.map(keep) };
        },
    false,
    undefined,
    resource.fieldSelector,
  );
  let synced = false;
  let retryMs = FIRST_RETRY_MS;
  let cancelRetry: Cancel | undefined;

  const start = async (): Promise<void> => {
    await informer.start();
    // start() swallows a failed list (it reports it to 'error'): only a resource version proves one.
    if (informer.latestResourceVersion() !== '') {
      synced = true;
      retryMs = FIRST_RETRY_MS;
    }
  };
  const restartLater = (error: unknown): void => {
    if (signal.aborted || cancelRetry !== undefined) return;
    const classified = classifyKubernetesError(error);
    logger.warn(
      { resource: resource.name, kind: classified.kind, error: classified.message, retryMs },
      'watch failed, restarting',
    );
    cancelRetry = timers.after(retryMs, () => {
      cancelRetry = undefined;
      start().catch(restartLater);
    });
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  informer.on('error', restartLater);
  const listeners = new Set<(object: T) => void>();
  const notify = (object: T): void => {
    for (const listener of listeners) listener(object);
  };
  informer.on('add', notify);
  informer.on('update', notify);
  informer.on('delete', notify);
  signal.addEventListener(
    'abort',
    () => {
      cancelRetry?.();
      void informer.stop();
    },
    { once: true },
  );
  if (!signal.aborted) start().catch(restartLater);
  return {
    get: (name, namespace) => informer.get(name, namespace),
    list: () => [...informer.list()],
    synced: () => synced,
    subscribe: (listener) => {
      listeners.add(listener);
      for (const object of informer.list()) listener(object);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

/** A Watch that hands ListWatch only what `keep` keeps of each object (not of ERROR's Status). */
class KeepingWatch<T extends KubernetesObject> extends Watch {
  private readonly keep: (object: T) => T;

  constructor(kubeConfig: KubeConfig, keep: (object: T) => T) {
    super(kubeConfig);
    this.keep = keep;
  }

  override watch(...[path, query, callback, done]: Parameters<Watch['watch']>): Promise<AbortController> {
    return super.watch(
      path,
      query,
      (phase, object: T, event) => {
        callback(phase, phase === 'ERROR' ? object : this.keep(object), event);
      },
      done,
    );
  }
}

/**
 * The object without metadata.managedFields: the API server's record of which client set which
 * field, often the largest part of a pod (an entry per writer, each a tree of its fields), and read
 * by nothing that watches.
 */
export function withoutManagedFields<T extends KubernetesObject>(object: T): T {
  if (object.metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** Every namespace with its labels and annotations: the extender's preferences, the connector's opt-in. */
export function watchNamespaces(kubeConfig: KubeConfig, context: InformerContext): WatchedCache<V1Namespace> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return watchResource<V1Namespace>(
    kubeConfig,
    { name: 'namespaces', path: '/api/v1/namespaces', list: () => core.listNamespace() },
    context,
  );
}
