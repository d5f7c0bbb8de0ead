// The kubelet API on port 0 over real TLS with client certificates: authorization as a kubelet does it,
// the pod listings, container logs, and exec and port-forward over both wire protocols, with ACI's terminal and the
// group's address replaced by plain objects and a loopback listener.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpsRequest, type Server } from 'node:https';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { WebSocket } from 'ws';
import { ClassifiedError } from '../runtime/errors.ts';
import { silentLogger } from '../runtime/logger.ts';
import { createCertificateAuthority, issueCertificate } from '../runtime/tls.ts';
import { createKubeletApi, type KubeletAuthorizer } from './kubelet-api.ts';
import type { LogLine, LogOptions } from './logs.ts';
import type { PodCache } from './ports.ts';
import { SpdyConnection, type SpdyStream } from './spdy/index.ts';
import { PodSessions } from './streaming/pod-sessions.ts';
import { spdyTunnel, upgradeToSpdy } from './streaming/spdy-session.ts';
import { FakeClock } from '../runtime/clock.ts';

const ca = createCertificateAuthority({ commonName: 'cluster-ca', now: new Date() });
const serving = issueCertificate(
  ca,
  { commonName: 'aci-connector', hosts: ['127.0.0.1'], now: new Date() },
  'server',
);
const apiServer = issueCertificate(
  ca,
  { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], now: new Date() },
  'client',
);
const viewer = issueCertificate(ca, { commonName: 'viewer', now: new Date() }, 'client');

const LOG_LINES: LogLine[] = [
  { time: new Date('2026-01-01T00:00:00Z'), raw: '2026-01-01T00:00:00Z hello', text: 'hello' },
  { time: new Date('2026-01-01T00:00:01Z'), raw: '2026-01-01T00:00:01Z world', text: 'world' },
];

function pod(name: string, phase: string, ports: number[] = []): V1Pod {
  return {
    metadata: { namespace: 'default', name, uid: `uid-${name}` },
    spec: {
      containers: [{ name: 'app', image: 'nginx', ports: ports.map((containerPort) => ({ containerPort })) }],
    },
    status: { phase, podIP: '127.0.0.1' },
  };
}

/** A shell in ACI's terminal, as far as the connector's exec line needs one: prints, then reports `$?` = 4. */
function fakeShell(aci: Duplex): void {
  let typed = '';
  aci.on('data', (chunk: Buffer) => {
    typed += chunk.toString();
    const nonce = /printf '\\036%sB\\036\\n' ([0-9a-f]+);/.exec(typed)?.[1];
    if (nonce === undefined || !typed.endsWith('exit\n')) return;
    aci.end(`/ # \u001e${nonce}B\u001e\nhello from aci\n\u001e${nonce}E4\u001e\n`);
  });
}

describe('kubelet API', () => {
  let server: Server;
  let port: number;
  let backend: ReturnType<typeof createTcpServer>;
  let backendPort: number;
  const asked: { user: string; verb: string; subresource: string }[] = [];
  const pods = new Map<string, V1Pod>();
  const logReads: { group: string; container: string; options: LogOptions }[] = [];
  let logFailure: Error | undefined;
  const shutdown = new AbortController();

  before(async () => {
    backend = createTcpServer((socket) => {
      socket.once('data', (data) => socket.end(`echo:${data.toString()}`));
    });
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    backendPort = (backend.address() as AddressInfo).port;
    for (const entry of [pod('web', 'Running', [backendPort]), pod('starting', 'Pending')]) {
      pods.set(entry.metadata?.name ?? '', entry);
    }
    const cache: PodCache = {
      synced: true,
      get: (namespace, name) => (namespace === 'default' ? pods.get(name) : undefined),
      list: () => [...pods.values()],
    };
    const authorizer: KubeletAuthorizer = {
      allowed: (caller, attributes) => {
        asked.push({ user: caller.user, ...attributes });
        return Promise.resolve(caller.user !== 'viewer' || attributes.verb === 'get');
      },
    };
    const schedule = (ms: number, fire: () => void): (() => void) => {
      const timer = setTimeout(fire, ms);
      return () => {
        clearTimeout(timer);
      };
    };
    server = createKubeletApi({
      cache,
      logs: {
        read: async function* (target, options) {
          logReads.push({ group: target.group, container: target.container, options });
          if (logFailure !== undefined) throw logFailure;
          yield await Promise.resolve(LOG_LINES);
        },
      },
      // Only a running pod has a group yet.
      ownedGroupFor: (pod) =>
        pod.status?.phase === 'Running' ? `group-of-${pod.metadata?.name ?? ''}` : undefined,
      authorizer,
      logger: silentLogger(),
      clock: new FakeClock(Date.parse('2026-01-01T00:10:00Z')),
      tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: ca.certPem },
      shutdown: shutdown.signal,
      streaming: {
        sessions: new PodSessions(shutdown.signal),
        terminal: {
          terminals: {
            openExec: () => Promise.resolve({ webSocketUri: 'wss://aci.example/x', password: 'p' }),
            openAttach: () => Promise.resolve({ webSocketUri: 'wss://aci.example/y', password: 'p' }),
          },
          dial: () => {
            const [connectorSide, aciSide] = duplexPair();
            fakeShell(aciSide);
            return Promise.resolve(connectorSide);
          },
          schedule,
          nonce: () => 'abc123',
          firstResizeWaitMs: 100,
          idleTimeoutMs: 10_000,
        },
        forward: {
          connect: (host, to) => connect({ host, port: to }),
          schedule,
          streamCreationTimeoutMs: 5000,
        },
        upgradeToSpdy,
        spdyTunnel,
      },
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    shutdown.abort();
    server.close();
    backend.close();
  });

  const client = (identity = apiServer): { cert: string; key: string; ca: string } => ({
    cert: identity.certPem,
    key: identity.keyPem,
    ca: ca.certPem,
  });

  function get(path: string, identity = apiServer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path, ...client(identity) }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.once('error', reject);
      req.end();
    });
  }

  /** Sends an upgrade request by hand and returns the status line and headers of the answer. */
  function upgrade(
    path: string,
    headers: Record<string, string>,
  ): Promise<{ head: string; socket: TLSSocket }> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ...client() }, () => {
        const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n${lines.join('')}\r\n`,
        );
      });
      let received = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        // Paused until the caller reads on: what came after the headers must not be lost meanwhile.
        socket.pause();
        const rest = received.subarray(end + 4);
        if (rest.length > 0) socket.unshift(rest);
        resolve({ head: received.subarray(0, end).toString(), socket });
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  }

  it('asks the API server about nodes/proxy with the verb of the method, and answers 403 as a kubelet', async () => {
    const refused = await upgrade('/exec/default/web/app?command=id&output=1', {
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
    }).catch(() => undefined);
    assert.ok(refused);
    refused.socket.destroy();
    assert.deepEqual(asked.at(-1), {
      user: 'kube-apiserver-kubelet-client',
      verb: 'create',
      subresource: 'proxy',
    });
    const forbidden = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ...client(viewer) }, () => {
        socket.write(
          'POST /exec/default/web/app?command=id&output=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.once('end', () => {
        resolve(text);
      });
      socket.once('error', reject);
    });
    assert.match(forbidden, /^HTTP\/1\.1 403 Forbidden/);
    assert.match(forbidden, /Forbidden \(user=viewer, verb=create, resource=nodes, subresource=proxy\)/);
  });

  it('lists the node’s pods and its running pods as PodLists', async () => {
    const all = JSON.parse((await get('/pods')).body) as { kind: string; items: V1Pod[] };
    const running = JSON.parse((await get('/runningpods/')).body) as { kind: string; items: V1Pod[] };
    assert.equal(all.kind, 'PodList');
    assert.deepEqual(all.items.map((item) => item.metadata?.name).sort(), ['starting', 'web']);
    assert.deepEqual(
      running.items.map((item) => item.metadata?.name),
      ['web'],
    );
    assert.deepEqual(await get('/healthz'), { status: 200, body: 'ok' });
  });

  it('serves a container’s log from its group, with timestamps when asked, cut at limitBytes', async () => {
    assert.deepEqual(await get('/containerLogs/default/web/app'), { status: 200, body: 'hello\nworld\n' });
    assert.deepEqual(logReads.at(-1)?.group, 'group-of-web');
    assert.deepEqual(await get('/containerLogs/default/web/app?timestamps=true&limitBytes=31'), {
      status: 200,
      body: '2026-01-01T00:00:00Z hello\n2026',
    });
  });

  it('counts sinceSeconds back from the connector’s clock', async () => {
    await get('/containerLogs/default/web/app?sinceSeconds=60&tailLines=5&follow=true');
    const options = logReads.at(-1)?.options;
    assert.equal(options?.since?.toISOString(), '2026-01-01T00:09:00.000Z');
    assert.deepEqual([options.tailLines, options.follow], [5, true]);
  });

  const refusedLogs: [string, number, RegExp][] = [
    ['/containerLogs/default/web/app?previous=true', 400, /does not keep the logs of a previous container/],
    ['/containerLogs/default/web/app?tailLines=-1', 400, /tailLines/],
    ['/containerLogs/default/web/other', 404, /container "other" of pod default\/web is not on this node/],
    ['/containerLogs/default/starting/app', 404, /pod default\/starting has no container group on ACI yet/],
    ['/configz', 404, /not supported by the ACI virtual node/],
  ];
  for (const [path, status, message] of refusedLogs) {
    it(`answers ${path} with ${status}, saying why, without reading ACI`, async () => {
      const reads = logReads.length;
      const answer = await get(path);
      assert.equal(answer.status, status);
      assert.match(answer.body, message);
      assert.equal(logReads.length, reads);
    });
  }

  it('answers a failed log read with 502 and the reason, a vanished group with 404', async (t) => {
    t.after(() => (logFailure = undefined));
    logFailure = new ClassifiedError('Transient', 'ACI did not answer');
    assert.deepEqual(await get('/containerLogs/default/web/app'), {
      status: 502,
      body: 'ACI did not answer\n',
    });
    logFailure = new ClassifiedError('NotFound', 'the container group is gone');
    assert.equal((await get('/containerLogs/default/web/app')).status, 404);
  });

  it('answers a streaming route without an upgrade with 400', async () => {
    assert.deepEqual(await get('/exec/default/web/app?command=id'), {
      status: 400,
      body: 'Upgrade request required\n',
    });
  });

  const notFound: [string, RegExp][] = [
    ['/exec/default/missing/app?command=id&output=1', /404 Not Found[\s\S]*pod does not exist/],
    ['/exec/default/web/other?command=id&output=1', /404 Not Found[\s\S]*container not found \("other"\)/],
    ['/exec/default/web/wrong-uid/app?command=id&output=1', /404 Not Found[\s\S]*pod not found/],
    [
      '/exec/default/starting/app?command=id&output=1',
      /404 Not Found[\s\S]*pod default\/starting has no container group on ACI yet/,
    ],
  ];
  for (const [path, expected] of notFound) {
    it(`answers ${path.split('?')[0] ?? ''} in the kubelet's words`, async () => {
      const { head, socket } = await upgrade(path, {
        Upgrade: 'SPDY/3.1',
        'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
      });
      const body = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.once('end', () => {
          resolve(text);
        });
        socket.resume();
      });
      assert.match(`${head}\r\n\r\n${body}`, expected);
    });
  }

  it('refuses a SPDY upgrade with no common protocol, naming the ones it accepts', async () => {
    const { head, socket } = await upgrade('/exec/default/web/app?command=id&output=1', {
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v9.channel.k8s.io',
    });
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 403/);
    assert.match(head, /X-Accepted-Stream-Protocol-Versions: v4\.channel\.k8s\.io, v3\.channel\.k8s\.io/);
  });

  it('runs exec over SPDY: output on stdout, the exit code in the v4 status', async () => {
    const { head, socket } = await upgrade(
      '/exec/default/web/app?command=sh&command=-c&command=exit%204&output=1&error=1',
      {
        Upgrade: 'SPDY/3.1',
        'X-Stream-Protocol-Version': 'v4.channel.k8s.io, v3.channel.k8s.io',
      },
    );
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols/);
    assert.match(head, /X-Stream-Protocol-Version: v4\.channel\.k8s\.io/);
    const spdy = new SpdyConnection(socket, { role: 'client' });
    socket.resume();
    const read = (stream: SpdyStream): Promise<string> =>
      new Promise((resolve) => {
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
        stream.once('end', () => {
          resolve(text);
        });
      });
    const error = spdy.openStream({ streamtype: 'error' }, { fin: true });
    const stdout = spdy.openStream({ streamtype: 'stdout' }, { fin: true });
    const stderr = spdy.openStream({ streamtype: 'stderr' }, { fin: true });
    const [status, output, errors] = await Promise.all([read(error), read(stdout), read(stderr)]);
    assert.equal(output, 'hello from aci\n', status);
    assert.equal(errors, '');
    assert.deepEqual(JSON.parse(status), {
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 4',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '4' }] },
    });
    spdy.destroy();
  });

  it('runs exec over a v5 WebSocket', async () => {
    const socket = new WebSocket(
      `wss://127.0.0.1:${port}/exec/default/web/app?command=sh&command=-c&command=exit%204&output=1`,
      ['v5.channel.k8s.io'],
      client(),
    );
    const frames: Buffer[] = [];
    socket.on('message', (data: Buffer) => frames.push(Buffer.from(data)));
    await once(socket, 'close');
    assert.equal(socket.protocol, 'v5.channel.k8s.io');
    const stdout = frames.filter((frame) => frame[0] === 1).map((frame) => frame.subarray(1).toString());
    assert.equal(stdout.join(''), 'hello from aci\n');
    const status =
      frames
        .find((frame) => frame[0] === 3)
        ?.subarray(1)
        .toString() ?? '';
    assert.match(status, /"ExitCode","message":"4"/);
  });

  it('forwards a declared port to the pod IP over SPDY, and refuses an undeclared one on the error stream', async () => {
    const { socket } = await upgrade('/portForward/default/web', {
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'portforward.k8s.io',
    });
    const spdy = new SpdyConnection(socket, { role: 'client' });
    socket.resume();
    const collect = (stream: SpdyStream): Promise<string> =>
      new Promise((resolve) => {
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
        stream.once('end', () => {
          resolve(text);
        });
        stream.once('close', () => {
          resolve(text);
        });
      });
    const forwarded = String(backendPort);
    const error = spdy.openStream({ streamtype: 'error', port: forwarded, requestid: '0' }, { fin: true });
    const data = spdy.openStream({ streamtype: 'data', port: forwarded, requestid: '0' });
    data.end('ping');
    assert.equal(await collect(data), 'echo:ping');
    assert.equal(await collect(error), '');
    const refusedError = spdy.openStream({ streamtype: 'error', port: '81', requestid: '1' }, { fin: true });
    spdy.openStream({ streamtype: 'data', port: '81', requestid: '1' });
    assert.equal(
      await collect(refusedError),
      `error forwarding port 81 to pod default/web: port 81 is not declared by pod default/web; ACI exposes only the ports a pod declares (declared: ${forwarded})`,
    );
    spdy.destroy();
  });
});
