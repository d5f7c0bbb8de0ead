// The websockets behind ACI's exec and attach APIs.
// Exec (`/execstream/sessionId/<id>`): the first message must be the session's password; then every
// message (text or binary) is terminal input and the terminal's output comes back as text frames
// (exec-session.ts). Attach (`/attachstream/sessionId/<id>`, path unconfirmed): the password is the
// upgrade request's Authorization header (as the spec describes it; unconfirmed), then the container's
// output arrives as text frames, one per batch of lines, each line ending \r\n; input is ignored.
// Both close (1000) when their container run ends, the group is stopped or deleted, or after a while
// idle; exec also when the program ends. No exit code is ever sent.
import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../runtime/logger.ts';
import { hasShell } from './behaviour.ts';
import { ExecSession } from './exec-session.ts';
import { shellContext } from './exec-shell.ts';
import type { GroupActivity } from './group-activity.ts';
import type { RequestLog } from './request-log.ts';
import type { EmulatorState, StreamSession } from './state.ts';

const STREAM_PATH = /^\/(execstream|attachstream)\/sessionId\/([0-9a-f-]{36})$/;
/** Closes: 1000 normal; 1008 policy violation for a wrong password (unconfirmed, plausible). */
const NORMAL_CLOSE = 1000;
const POLICY_VIOLATION = 1008;
/** The largest websocket message accepted (a client's stdin arrives in chunks far smaller). */
const MAX_MESSAGE_BYTES = 1 << 20;

export interface SessionLimits {
  /** Exec and attach websockets open at once. */
  maxSessions: number;
  /** A session without input or output for this long closes. */
  idleMs: number;
  /** Characters one exec session may send. */
  maxOutputChars: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxSessions: 64,
  idleMs: 10 * 60_000,
  maxOutputChars: 64 << 20,
};

export interface SessionSocketDependencies {
  state: EmulatorState;
  /** Where what exec sessions are typed goes (method EXEC), so tests see the commands that ran. */
  requestLog?: RequestLog;
  activity: GroupActivity;
  clock: () => number;
  logger: Logger;
  limits: SessionLimits;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function bytes(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
}

function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

const realTimers = {
  setTimeout: (callback: () => void, ms: number): unknown => setTimeout(callback, ms),
  clearTimeout: (handle: unknown): void => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export function attachSessionSockets(server: Server, deps: SessionSocketDependencies): WebSocketServer {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const match = STREAM_PATH.exec(new URL(req.url ?? '/', 'https://emulator').pathname);
    const kind = match?.[1] === 'attachstream' ? 'attach' : 'exec';
    const session =
      match?.[2] === undefined ? undefined : deps.state.takeSession(kind, match[2], deps.clock());
    if (!session) {
      refuse(socket, '404 Not Found');
      return;
    }
    if (sockets.clients.size >= deps.limits.maxSessions) {
      refuse(socket, '503 Service Unavailable');
      return;
    }
    if (kind === 'attach' && !sameSecret(req.headers.authorization ?? '', session.password)) {
      refuse(socket, '401 Unauthorized');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', (error) => {
        deps.logger.debug({ err: error, session: session.id }, 'session websocket error');
      });
      if (kind === 'attach') runAttach(ws, session, deps);
      else runExec(ws, session, deps);
    });
  });
  return sockets;
}

function closeOnce(ws: WebSocket): (reason?: string) => void {
  return (reason) => {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(NORMAL_CLOSE, reason ?? '');
  };
}

function runExec(ws: WebSocket, stream: StreamSession, deps: SessionSocketDependencies): void {
  const close = closeOnce(ws);
  const session = new ExecSession(
    {
      command: stream.command,
      context: shellContext(stream.container, stream.spec.volumes, stream.target.name),
      hasShell: hasShell(stream.container.image),
      terminalSize: stream.terminalSize,
      idleMs: deps.limits.idleMs,
      maxOutputChars: deps.limits.maxOutputChars,
    },
    {
      send: (text) => {
        ws.send(text);
      },
      end: (reason) => {
        unwatch();
        close(reason);
      },
    },
    realTimers,
  );
  const unwatch = deps.activity.watch({
    target: stream.target,
    run: stream.runStartedAt,
    end: (reason) => {
      session.stop(reason);
    },
  });
  // Input bytes may split a UTF-8 character across messages.
  const decoder = new TextDecoder('utf-8');
  let authenticated = false;
  ws.on('message', (data) => {
    const message = bytes(data);
    if (authenticated) {
      const text = decoder.decode(message, { stream: true });
      logInput(deps, stream, text);
      session.input(text);
      return;
    }
    authenticated = sameSecret(message.toString('utf8'), stream.password);
    if (!authenticated) {
      unwatch();
      ws.close(POLICY_VIOLATION, 'invalid password');
      return;
    }
    deps.logger.debug({ session: stream.id, command: stream.command }, 'exec session authenticated');
    session.start();
  });
  ws.on('close', () => {
    unwatch();
    session.stop('client closed the websocket');
  });
}

/** The exec log: each input message of a session, by the container it went to. */
function logInput(deps: SessionSocketDependencies, stream: StreamSession, input: string): void {
  const { resourceGroup, name, container } = stream.target;
  deps.requestLog?.add({
    method: 'EXEC',
    path: `/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${name}/containers/${container}`,
    query: '',
    status: 0,
    time: new Date(deps.clock()).toISOString(),
    durationMs: 0,
    body: { session: stream.id, command: stream.command, input },
  });
}

function runAttach(ws: WebSocket, stream: StreamSession, deps: SessionSocketDependencies): void {
  const close = closeOnce(ws);
  let idle: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      unwatch();
      close('idle timeout');
    }, deps.limits.idleMs);
  };
  const unwatch = deps.activity.watch({
    target: stream.target,
    run: stream.runStartedAt,
    output: {
      since: stream.openedAt,
      deliver: (lines) => {
        touch();
        ws.send(lines.map((line) => `${line}\r\n`).join(''));
      },
    },
    end: (reason) => {
      clearTimeout(idle);
      close(reason);
    },
  });
  touch();
  ws.on('close', () => {
    clearTimeout(idle);
    unwatch();
  });
  void deps.activity.settle();
}
