// exec and attach over a WebSocket (what a 1.36+ API server sends straight to a node that declares
// ExtendWebSocketsToKubelet): every message starts with a channel byte, 0 stdin, 1 stdout, 2 stderr,
// 3 error (the Status), 4 resize; v5 adds 255 <channel>, the caller closing that channel (its stdin).
// The base64 variants carry the channel as an ASCII digit and the data base64-encoded.
import { PassThrough, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import {
  finishInOrder,
  ResizeDecoder,
  type CommandOptions,
  type CommandStreams,
  type TerminalSize,
} from './command-streams.ts';
import { statusBytes, type CommandOutcome } from './status.ts';

export const CHANNEL_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
] as const;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE_SIGNAL = 255;

/** The first protocol the caller offers that we speak, in the caller's order of preference. */
export function chooseChannelProtocol(offered: Iterable<string>): string | undefined {
  for (const protocol of offered) {
    if ((CHANNEL_PROTOCOLS as readonly string[]).includes(protocol)) return protocol;
  }
  return undefined;
}

function bytesOf(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(String(data));
}

export function webSocketCommandStreams(
  socket: WebSocket,
  protocol: string,
  options: CommandOptions,
): CommandStreams {
  const base64 = protocol.includes('base64');
  const send = (channel: number, data: Buffer, done?: (error?: Error) => void): void => {
    const frame = base64
      ? Buffer.from(String.fromCharCode(48 + channel) + data.toString('base64'))
      : Buffer.concat([Buffer.from([channel]), data]);
    socket.send(frame, { binary: !base64 }, done);
  };
  const channelWriter = (channel: number): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (socket.readyState !== socket.OPEN) {
          done();
          return;
        }
        send(channel, chunk, (error) => {
          done(error ?? null);
        });
      },
    });
  const stdin = options.stdin ? new PassThrough() : undefined;
  const stdout = options.stdout ? channelWriter(STDOUT) : undefined;
  const stderr = options.stderr ? channelWriter(STDERR) : undefined;
  const resizeListeners: ((size: TerminalSize) => void)[] = [];
  const resizes = new ResizeDecoder();

  const onMessage = (raw: unknown): void => {
    let data = bytesOf(raw);
    if (data.length === 0) return;
    if (protocol.startsWith('v5.') && data[0] === CLOSE_SIGNAL) {
      if (data[1] === STDIN) stdin?.end();
      return;
    }
    const channel = base64 ? (data[0] ?? 0) - 48 : data[0];
    data = base64 ? Buffer.from(data.subarray(1).toString(), 'base64') : data.subarray(1);
    if (channel === STDIN) stdin?.write(data);
    if (channel === RESIZE)
      for (const size of resizes.push(data)) for (const listener of resizeListeners) listener(size);
  };
  socket.on('message', onMessage);

  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      stdin?.end();
      resolve();
    });
  });
  // As the kubelet does: an empty frame on the first writable channel tells the caller the session is up.
  send(options.stdout ? STDOUT : options.stderr ? STDERR : ERROR, Buffer.alloc(0));

  return {
    options,
    stdin,
    stdout,
    stderr,
    onResize(listener) {
      resizeListeners.push(listener);
    },
    finish(outcome: CommandOutcome) {
      // Versioned protocols (v4, v5) write a JSON Status; the unversioned ones text, as the kubelet does.
      const status = statusBytes(outcome, protocol.startsWith('v'));
      finishInOrder(
        [stdout, stderr],
        () =>
          new Promise<void>((resolve) => {
            if (status === undefined || socket.readyState !== socket.OPEN) resolve();
            else
              send(ERROR, status, () => {
                resolve();
              });
          }),
        () => {
          socket.close(1000);
        },
      );
    },
    closed,
  };
}
