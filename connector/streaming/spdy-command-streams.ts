// exec and attach over SPDY (what API servers up to 1.35, and 1.36 for nodes that do not declare
// WebSocket support, speak to a node): the caller opens one stream per channel it asked for, named by
// its `streamtype` header; we reply to each and start once all have arrived, as the kubelet does.
import type { Readable, Writable } from 'node:stream';
import {
  endStream,
  finishInOrder,
  ResizeDecoder,
  type CommandOptions,
  type CommandStreams,
  type TerminalSize,
} from './command-streams.ts';
import type { PeerStream } from './port-forward.ts';
import { statusBytes, type CommandOutcome } from './status.ts';
import type { Schedule } from './terminal-session.ts';

/** Remote-command protocols in the server's order; v4 adds JSON statuses, v3 resizing. */
export const COMMAND_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
] as const;
export const PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'] as const;

/** An upgraded SPDY connection, server side. */
export interface SpdySession {
  /** Every stream the caller opens, already replied to. */
  onStream(listener: (stream: PeerStream, streamId: number) => void): void;
  /** GOAWAY, then closes the transport. */
  close(): void;
  readonly closed: Promise<void>;
}

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

function expectedStreams(options: CommandOptions, protocol: string): Set<StreamType> {
  const expected = new Set<StreamType>(['error']);
  if (options.stdin) expected.add('stdin');
  if (options.stdout) expected.add('stdout');
  if (options.stderr) expected.add('stderr');
  const resizing = protocol === 'v4.channel.k8s.io' || protocol === 'v3.channel.k8s.io';
  if (options.tty && resizing) expected.add('resize');
  return expected;
}

/**
 * Waits (bounded) for the caller's streams. Resolves undefined when they did not all come in time:
 * the kubelet then gives up on the connection without a word, and so do we.
 */
export function spdyCommandStreams(
  session: SpdySession,
  request: { options: CommandOptions; protocol: string },
  timing: { schedule: Schedule; streamCreationTimeoutMs: number },
): Promise<CommandStreams | undefined> {
  const expected = expectedStreams(request.options, request.protocol);
  const streams = new Map<StreamType, PeerStream>();
  return new Promise((resolve) => {
    const cancel = timing.schedule(timing.streamCreationTimeoutMs, () => {
      session.close();
      resolve(undefined);
    });
    session.onStream((stream) => {
      const type = stream.headers['streamtype'] as StreamType | undefined;
      if (type === undefined || !expected.has(type) || streams.has(type)) {
        stream.reset();
        return;
      }
      streams.set(type, stream);
      if (streams.size < expected.size) return;
      cancel();
      resolve(commandStreams(session, streams, request));
    });
  });
}

function commandStreams(
  session: SpdySession,
  streams: Map<StreamType, PeerStream>,
  request: { options: CommandOptions; protocol: string },
): CommandStreams {
  const error = streams.get('error');
  const resize = streams.get('resize');
  const resizeListeners: ((size: TerminalSize) => void)[] = [];
  const decoder = new ResizeDecoder();
  resize?.on('data', (chunk: Buffer) => {
    for (const size of decoder.push(chunk)) for (const listener of resizeListeners) listener(size);
  });
  const stdout: Writable | undefined = streams.get('stdout');
  const stderr: Writable | undefined = streams.get('stderr');
  const stdin: Readable | undefined = streams.get('stdin');
  return {
    options: request.options,
    stdin,
    stdout,
    stderr,
    onResize(listener) {
      resizeListeners.push(listener);
    },
    finish(outcome: CommandOutcome) {
      const status = statusBytes(outcome, request.protocol === 'v4.channel.k8s.io');
      finishInOrder(
        [stdout, stderr],
        () => endStream(error, status),
        () => {
          session.close();
        },
      );
    },
    closed: session.closed,
  };
}
