// Open exec, attach and port-forward sessions per pod, so that deleting a pod (or stopping the
// connector) ends its sessions with a reason instead of leaving them to hang.
import { podKey } from '../../contract/index.ts';
import type { WatchedPods } from '../ports.ts';

export interface PodSession {
  readonly signal: AbortSignal;
  /** The session ended on its own: forget it. */
  release(): void;
}

export class PodSessions {
  private readonly open = new Map<string, Set<AbortController>>();
  private readonly shutdown: AbortSignal;

  constructor(shutdown: AbortSignal) {
    this.shutdown = shutdown;
  }

  get size(): number {
    let count = 0;
    for (const sessions of this.open.values()) count += sessions.size;
    return count;
  }

  start(namespace: string, name: string): PodSession {
    const key = podKey({ metadata: { namespace, name } });
    const controller = new AbortController();
    const sessions = this.open.get(key) ?? new Set();
    sessions.add(controller);
    this.open.set(key, sessions);
    const onShutdown = (): void => {
      controller.abort(new Error('the virtual node is shutting down'));
    };
    this.shutdown.addEventListener('abort', onShutdown, { once: true });
    if (this.shutdown.aborted) onShutdown();
    return {
      signal: controller.signal,
      release: () => {
        this.shutdown.removeEventListener('abort', onShutdown);
        sessions.delete(controller);
        if (sessions.size === 0 && this.open.get(key) === sessions) this.open.delete(key);
      },
    };
  }

  /** Ends a pod's sessions when the watch sees it deleted or gone; until the returned function is called. */
  followPods(pods: WatchedPods): () => void {
    return pods.subscribe((pod) => {
      const { namespace = '', name = '' } = pod.metadata ?? {};
      if (pod.metadata?.deletionTimestamp !== undefined || pods.get(namespace, name) === undefined) {
        this.podGone(namespace, name);
      }
    });
  }

  /** The pod was deleted (or left this node): end every session it has. */
  podGone(namespace: string, name: string): void {
    const key = podKey({ metadata: { namespace, name } });
    const sessions = this.open.get(key);
    if (sessions === undefined) return;
    this.open.delete(key);
    for (const controller of sessions) controller.abort(new Error(`pod ${key} was deleted`));
  }
}
