// `kubectl port-forward` to a pod on ACI. The caller opens two streams per forwarded connection
// (`streamtype` error then data, with `port` and `requestid` headers); we connect to that port on the
// container group's IP and copy bytes both ways. ACI exposes only the ports a pod declares, so any
// other port is refused at once with the reason on the error stream instead of a connection that hangs.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Schedule } from './terminal-session.ts';

/** One stream the caller opened, with its (lower-case) SPDY headers. */
export interface PeerStream extends Duplex {
  readonly headers: Readonly<Record<string, string>>;
  /** Abandons the stream (RST_STREAM). */
  reset(): void;
}

export interface ForwardTarget {
  /** `namespace/name`, for messages. */
  pod: string;
  /** The container group's IP, once it has one. */
  podIP: string | undefined;
  /** TCP ports the pod's containers declare. */
  ports: ReadonlySet<number>;
  /** Aborts when the pod is deleted or the connector shuts down. */
  signal: AbortSignal;
}

export interface PortForwardDeps {
  connect: (host: string, port: number) => Socket;
  schedule: Schedule;
  /** How long the second stream of a pair may take to arrive. */
  streamCreationTimeoutMs: number;
}

interface Pair {
  error?: PeerStream;
  data?: PeerStream;
  cancelTimeout: () => void;
}

/** What a stream's headers ask for, or why they are not acceptable. */
export function forwardRequest(
  headers: Readonly<Record<string, string>>,
  fallbackId: number,
): { type: 'error' | 'data'; port: number; requestId: string } | { problem: string } {
  const type = headers['streamtype'];
  if (type !== 'error' && type !== 'data') return { problem: `invalid stream type ${JSON.stringify(type)}` };
  const portText = headers['port'] ?? '';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535))
    return { problem: `unable to parse ${JSON.stringify(portText)} as a port` };
  // Old clients send no request id: the kubelet pairs the streams by their ids (data = error + 2).
  const requestId = headers['requestid'] ?? String(type === 'error' ? fallbackId : fallbackId - 2);
  return { type, port, requestId };
}

export function refusal(target: ForwardTarget, port: number): string | undefined {
  if (!target.ports.has(port)) {
    const declared = [...target.ports].sort((a, b) => a - b).join(', ') || 'none';
    return `port ${port} is not declared by pod ${target.pod}; ACI exposes only the ports a pod declares (declared: ${declared})`;
  }
  if (target.podIP === undefined || target.podIP === '') return `pod ${target.pod} has no IP address yet`;
  return undefined;
}

/** Serves one port-forward connection: call `accept` for every stream the caller opens. */
export function portForwarder(
  deps: PortForwardDeps,
  target: ForwardTarget,
): { accept: (stream: PeerStream, streamId: number) => void } {
  const pairs = new Map<string, Pair>();
  const fail = (pair: Pair, port: number, reason: string): void => {
    pair.error?.end(`error forwarding port ${port} to pod ${target.pod}: ${reason}`);
    pair.data?.reset();
  };
  return {
    accept(stream, streamId) {
      const request = forwardRequest(stream.headers, streamId);
      if ('problem' in request) {
        stream.end(request.problem);
        return;
      }
      let pair = pairs.get(request.requestId);
      if (pair === undefined) {
        const created: Pair = {
          cancelTimeout: deps.schedule(deps.streamCreationTimeoutMs, () => {
            pairs.delete(request.requestId);
            fail(created, request.port, 'timed out waiting for the second stream');
          }),
        };
        pair = created;
        pairs.set(request.requestId, pair);
      }
      if (pair[request.type] !== undefined) {
        stream.end(
          `error processing stream for request ${request.requestId}: ${request.type} stream already assigned`,
        );
        return;
      }
      pair[request.type] = stream;
      const { error, data } = pair;
      if (error === undefined || data === undefined) return;
      pair.cancelTimeout();
      pairs.delete(request.requestId);
      const reason = refusal(target, request.port);
      if (reason !== undefined) fail(pair, request.port, reason);
      else forward(deps, target, { error, data, port: request.port });
    },
  };
}

function forward(
  deps: PortForwardDeps,
  target: ForwardTarget,
  streams: { error: PeerStream; data: PeerStream; port: number },
): void {
  const { error, data, port } = streams;
  const socket = deps.connect(target.podIP ?? '', port);
  const stop = (): void => {
    socket.destroy();
    data.reset();
    error.end();
  };
  target.signal.addEventListener('abort', stop, { once: true });
  socket.once('error', (cause) => {
    target.signal.removeEventListener('abort', stop);
    error.end(`error forwarding port ${port} to pod ${target.pod}: ${cause.message}`);
    data.reset();
  });
  socket.once('connect', () => {
    // Half-closes pass through: the caller's FIN ends our write side, the group's FIN ends the stream.
    data.pipe(socket);
    socket.pipe(data);
  });
  socket.once('close', () => {
    target.signal.removeEventListener('abort', stop);
    error.end();
  });
  data.once('error', () => socket.destroy());
}
