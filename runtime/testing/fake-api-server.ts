// A Kubernetes API server stand-in for unit tests of the client-node edges: plain HTTP on 127.0.0.1,
// port 0, answering from a handler the test writes and recording every request in order. For tests only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  contentType: string | undefined;
  body: unknown;
}

/** Answers one request: a status and a JSON body, or takes the response over (a watch stream). */
export type Handler = (
  request: RecordedRequest,
  response: ServerResponse,
) => { status: number; body: unknown } | 'handled';

export interface FakeApiServer {
  readonly requests: RecordedRequest[];
  /** A kubeconfig whose cluster is this server. */
  readonly kubeConfig: KubeConfig;
  /** Resolves once `count` requests matching `filter` arrived (at most `ms` of real time). */
  waitFor(filter: (request: RecordedRequest) => boolean, count?: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

export async function startFakeApiServer(handler: Handler): Promise<FakeApiServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const recorded: RecordedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        contentType: request.headers['content-type'],
        body,
      };
      requests.push(recorded);
      const answer = handler(recorded, response);
      if (answer === 'handled') return;
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'test' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'test' }],
    currentContext: 'fake',
  });
  return {
    requests,
    kubeConfig,
    waitFor: (filter, count = 1, ms = 5000) =>
      until(`${count} matching requests`, () => requests.filter(filter).length >= count, ms),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

/**
 * Resolves once `condition` holds: real I/O (a request, its answer) takes real time even when the
 * test's clock is fake. Bounded: polls every 5 ms for at most `ms`, then fails naming what it awaited.
 */
export async function until(what: string, condition: () => boolean, ms = 5000): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited >= ms) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A Kubernetes Status answer. */
export function status(code: number, reason: string): { status: number; body: unknown } {
  return {
    status: code,
    body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code, message: reason },
  };
}
