// The exec websocket ACI hands out: the first (text) message must be the session's password; then
// stdin frames run through the built-in shell and stdout goes back as text frames.
import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:https';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../runtime/logger.ts';
import { SHELLS } from './behaviour.ts';
import { runCommandLine, shellContext, type ShellContext } from './exec-shell.ts';
import type { EmulatorState, ExecSession } from './state.ts';

const EXEC_PATH = /^\/execstream\/sessionId\/([0-9a-f-]{36})$/;
/** Closes: 1000 normal; 1008 policy violation for a wrong password (unconfirmed, plausible). */
const NORMAL_CLOSE = 1000;
const POLICY_VIOLATION = 1008;

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('utf8');
}

export function attachExecSockets(
  server: Server,
  deps: { state: EmulatorState; clock: () => number; logger: Logger },
): WebSocketServer {
  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'https://emulator').pathname;
    const id = EXEC_PATH.exec(path)?.[1];
    const session = id === undefined ? undefined : deps.state.takeExecSession(id, deps.clock());
    if (!session) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      runSession(ws, session, deps.logger);
    });
  });
  return sockets;
}

function runSession(ws: WebSocket, session: ExecSession, logger: Logger): void {
  const context = shellContext(session.container, session.spec.volumes, session.groupName);
  let authenticated = false;
  let pending = '';
  ws.on('message', (data) => {
    const message = text(data);
    if (!authenticated) {
      authenticated = sameSecret(message, session.password);
      if (!authenticated) {
        ws.close(POLICY_VIOLATION, 'invalid password');
        return;
      }
      logger.debug({ session: session.id, command: session.command }, 'exec session authenticated');
      if (!SHELLS.has(session.command.trim())) runOnce(ws, session.command, context);
      return;
    }
    pending += message;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const result = runCommandLine(line, context);
      if (result.output !== '') ws.send(result.output);
      if (result.exitCode !== undefined) {
        ws.close(NORMAL_CLOSE, `exit ${result.exitCode}`);
        return;
      }
    }
  });
}

/** A command other than a shell runs once; the session ends with it. */
function runOnce(ws: WebSocket, command: string, context: ShellContext): void {
  const result = runCommandLine(command, context);
  if (result.output !== '') ws.send(result.output);
  ws.close(NORMAL_CLOSE, `exit ${result.exitCode ?? 0}`);
}
