// The kubelet API's streaming routes: `/exec`, `/attach` and `/portForward` arrive as HTTP upgrades,
// either to SPDY/3.1 (API servers up to 1.35, and 1.36 for nodes that declare no WebSocket support) or
// to a WebSocket (1.36 with ExtendWebSocketsToKubelet: v5.channel.k8s.io for exec and attach, SPDY
// tunnelled in binary messages for port-forward). Both are negotiated per request on the same routes.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import { WebSocketServer } from 'ws';
import { isSpdyUpgrade, spdyTunnelProtocols } from '../spdy/index.ts';
import type { Logger } from '../../runtime/logger.ts';
import { authorize, callerOf, type KubeletAuthorizer } from '../kubelet-auth.ts';
import type { PodCache } from '../ports.ts';
import { commandOptions, type CommandStreams } from './command-streams.ts';
import type { PodSessions } from './pod-sessions.ts';
import { portForwarder, type PortForwardDeps } from './port-forward.ts';
import {
  COMMAND_PROTOCOLS,
  PORT_FORWARD_PROTOCOLS,
  spdyCommandStreams,
  type SpdySession,
} from './spdy-command-streams.ts';
import { runAttach, runExec, type TerminalSessionDeps } from './terminal-session.ts';
import { chooseChannelProtocol, webSocketCommandStreams } from './websocket-channels.ts';

const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
export const TUNNELED_PORT_FORWARD_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;
/** Largest WebSocket message accepted: kubectl sends stdin in 32 KiB pieces. */
const MAX_MESSAGE_BYTES = 1 << 20;

export type StreamingRoute =
  | { kind: 'exec' | 'attach'; namespace: string; pod: string; uid: string | undefined; container: string }
  | { kind: 'portForward'; namespace: string; pod: string; uid: string | undefined };

/** `/exec/{ns}/{pod}[/{uid}]/{container}`, the same for attach, `/portForward/{ns}/{pod}[/{uid}]`. */
export function parseStreamingPath(pathname: string): StreamingRoute | undefined {
  let segments: string[];
  try {
    segments = pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (segments.some((segment) => segment === '')) return undefined;
  const [kind, namespace = '', pod = '', ...rest] = segments;
  if ((kind === 'exec' || kind === 'attach') && (rest.length === 1 || rest.length === 2)) {
    const container = rest.at(-1) ?? '';
    return { kind, namespace, pod, uid: rest.length === 2 ? rest[0] : undefined, container };
  }
  if (kind === 'portForward' && rest.length <= 1) return { kind, namespace, pod, uid: rest[0] };
  return undefined;
}

export interface StreamingOptions {
  cache: PodCache;
  /** The container group this connector owns for the pod (tagged with its UID), if any. */
  ownedGroupFor: (pod: V1Pod) => string | undefined;
  authorizer: KubeletAuthorizer;
  sessions: PodSessions;
  terminal: TerminalSessionDeps;
  forward: PortForwardDeps;
  /** Answers a SPDY upgrade (101 with the chosen protocol) and speaks SPDY, server side, on the socket. */
  upgradeToSpdy: (socket: Duplex, head: Buffer, protocol: string) => SpdySession;
  /** Completes a WebSocket upgrade that tunnels SPDY (`SPDY/3.1+<protocol>`) and speaks SPDY inside it. */
  spdyTunnel: (req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string) => Promise<SpdySession>;
  logger: Logger;
}

/** Answers an upgrade request with an HTTP error on its raw socket and closes it. */
type Refuse = (status: number, message: string, headers?: Record<string, string>) => void;

function reject(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = `${message}\n`;
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const reason =
    { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}

/** The pod and its container group, or why they cannot be reached (in the kubelet's words where it has them). */
function findTarget(
  options: StreamingOptions,
  route: StreamingRoute,
): { pod: V1Pod; group: string } | string {
  const pod = options.cache.get(route.namespace, route.pod);
  if (pod === undefined) return 'pod does not exist';
  if (route.uid !== undefined && pod.metadata?.uid !== route.uid) return 'pod not found';
  if (route.kind !== 'portForward' && !pod.spec?.containers.some((c) => c.name === route.container)) {
    return `container not found (${JSON.stringify(route.container)})`;
  }
  const group = options.ownedGroupFor(pod);
  if (group === undefined) return `pod ${route.namespace}/${route.pod} has no container group on ACI yet`;
  return { pod, group };
}

function headerList(value: string | string[] | undefined): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values
    .flatMap((entry) => entry.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

export async function handleStreamingUpgrade(
  options: StreamingOptions,
  request: { req: IncomingMessage; socket: Duplex; head: Buffer },
): Promise<void> {
  const { req, socket } = request;
  socket.on('error', () => socket.destroy());
  const refuse: Refuse = (status, message, headers) => {
    options.logger.info(
      { path: req.url?.split('?')[0], status, reason: message },
      'streaming request refused',
    );
    reject(socket, status, message, headers);
  };
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'https://kubelet');
  } catch {
    refuse(400, 'malformed request URL');
    return;
  }
  const route = parseStreamingPath(url.pathname);
  if (route === undefined) {
    refuse(404, 'not supported by the ACI virtual node');
    return;
  }
  const caller = callerOf(socket as TLSSocket);
  const authorization = await authorize(options.authorizer, caller, {
    method: req.method,
    path: url.pathname,
  });
  if (!authorization.allowed) {
    refuse(authorization.status, authorization.message);
    return;
  }
  const target = findTarget(options, route);
  if (typeof target === 'string') {
    refuse(404, target);
    return;
  }
  const { pod, group } = target;
  if ((req.headers.upgrade ?? '').toLowerCase() === 'websocket')
    acceptWebSocket(options, request, {
      route,
      pod,
      group,
      query: url.searchParams,
      user: caller.user,
      refuse,
    });
  else if (isSpdyUpgrade(req))
    acceptSpdy(options, request, { route, pod, group, query: url.searchParams, user: caller.user, refuse });
  else
    refuse(
      400,
      `unsupported upgrade ${JSON.stringify(req.headers.upgrade ?? '')}: use SPDY/3.1 or websocket`,
    );
}

interface Accepted {
  route: StreamingRoute;
  pod: V1Pod;
  group: string;
  query: URLSearchParams;
  user: string;
  refuse: Refuse;
  /** The upgrade and sub-protocol, for the log: `SPDY/3.1 v4.channel.k8s.io`, `websocket v5.channel.k8s.io`. */
  transport?: string;
}

function acceptSpdy(
  options: StreamingOptions,
  request: { req: IncomingMessage; socket: Duplex; head: Buffer },
  accepted: Accepted,
): void {
  const { req, socket } = request;
  const { refuse } = accepted;
  const server: readonly string[] =
    accepted.route.kind === 'portForward' ? PORT_FORWARD_PROTOCOLS : COMMAND_PROTOCOLS;
  const offered = headerList(req.headers['x-stream-protocol-version']);
  if (offered.length === 0) {
    refuse(400, 'unable to upgrade: header X-Stream-Protocol-Version does not exist in request');
    return;
  }
  const protocol = offered.find((candidate) => server.includes(candidate));
  if (protocol === undefined) {
    refuse(
      403,
      `unable to upgrade: unable to negotiate protocol: client supports ${offered.join(', ')}, server accepts ${server.join(', ')}`,
      {
        'X-Accepted-Stream-Protocol-Versions': server.join(', '),
      },
    );
    return;
  }
  const command = accepted.route.kind === 'portForward' ? undefined : commandOptions(accepted.query);
  if (command !== undefined && 'problem' in command) {
    refuse(400, command.problem);
    return;
  }
  const session = options.upgradeToSpdy(socket, request.head, protocol);
  accepted.transport = `SPDY/3.1 ${protocol}`;
  if (command === undefined) {
    servePortForward(options, session, accepted);
    return;
  }
  void spdyCommandStreams(
    session,
    { options: command, protocol },
    {
      schedule: options.terminal.schedule,
      streamCreationTimeoutMs: options.forward.streamCreationTimeoutMs,
    },
  ).then((streams) => {
    if (streams) return runCommand(options, accepted, streams);
    return undefined;
  });
}

function acceptWebSocket(
  options: StreamingOptions,
  request: { req: IncomingMessage; socket: Duplex; head: Buffer },
  accepted: Accepted,
): void {
  const { req, socket, head } = request;
  const { refuse } = accepted;
  if (accepted.route.kind === 'portForward') {
    if (!spdyTunnelProtocols(req).includes(PORT_FORWARD_PROTOCOL)) {
      refuse(400, `unable to upgrade: a port-forward WebSocket must offer ${TUNNELED_PORT_FORWARD_PROTOCOL}`);
      return;
    }
    accepted.transport = `websocket ${TUNNELED_PORT_FORWARD_PROTOCOL}`;
    options
      .spdyTunnel(req, socket, head, PORT_FORWARD_PROTOCOL)
      .then((session) => {
        servePortForward(options, session, accepted);
      })
      .catch(() => socket.destroy());
    return;
  }
  const offered = headerList(req.headers['sec-websocket-protocol']);
  const protocol = chooseChannelProtocol(offered);
  if (protocol === undefined) {
    refuse(400, `unable to upgrade: no supported WebSocket protocol among ${offered.join(', ') || 'none'}`);
    return;
  }
  const command = commandOptions(accepted.query);
  if ('problem' in command) {
    refuse(400, command.problem);
    return;
  }
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: () => protocol,
  });
  accepted.transport = `websocket ${protocol}`;
  server.handleUpgrade(req, socket, head, (webSocket) => {
    void runCommand(options, accepted, webSocketCommandStreams(webSocket, protocol, command));
  });
}

async function runCommand(
  options: StreamingOptions,
  accepted: Accepted,
  streams: CommandStreams,
): Promise<void> {
  const { route } = accepted;
  if (route.kind === 'portForward') return;
  const session = options.sessions.start(route.namespace, route.pod);
  const target = {
    group: accepted.group,
    container: route.container,
    signal: session.signal,
  };
  const log = sessionLogger(options, accepted).child({ container: route.container });
  const argv = accepted.query.getAll('command');
  // The arguments may carry secrets: only the program's name is logged.
  log.info(
    { program: argv[0], arguments: Math.max(0, argv.length - 1), tty: streams.options.tty },
    'session started',
  );
  try {
    if (route.kind === 'exec') await runExec(options.terminal, { ...target, argv }, streams);
    else await runAttach(options.terminal, target, streams);
  } finally {
    session.release();
    log.info('session ended');
  }
}

function sessionLogger(options: StreamingOptions, accepted: Accepted): Logger {
  const { route, pod, user, transport } = accepted;
  return options.logger.child({
    pod: `${route.namespace}/${route.pod}`,
    uid: pod.metadata?.uid,
    kind: route.kind,
    user,
    transport,
  });
}

function servePortForward(options: StreamingOptions, spdy: SpdySession, accepted: Accepted): void {
  const { route, pod } = accepted;
  const session = options.sessions.start(route.namespace, route.pod);
  session.signal.addEventListener(
    'abort',
    () => {
      spdy.close();
    },
    { once: true },
  );
  const ports = new Set(
    (pod.spec?.containers ?? []).flatMap((container) =>
      (container.ports ?? [])
        .filter((port) => (port.protocol ?? 'TCP') === 'TCP')
        .map((port) => port.containerPort),
    ),
  );
  const forwarder = portForwarder(options.forward, {
    pod: `${route.namespace}/${route.pod}`,
    podIP: pod.status?.podIP,
    ports,
    signal: session.signal,
  });
  const log = sessionLogger(options, accepted);
  log.info('session started');
  spdy.onStream((stream, streamId) => {
    forwarder.accept(stream, streamId);
  });
  void spdy.closed.then(() => {
    session.release();
    log.info('session ended');
  });
}
