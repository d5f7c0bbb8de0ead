// kubectl exec, attach and port-forward to pods on the virtual node, through the real kube-apiserver and
// the real kubectl, against the connector process and the ACI emulator. Everything runs twice: once on a
// node that declares WebSocket support (the 1.36 API server proxies kubectl's WebSocket straight to it)
// and once on a node that does not (the API server speaks SPDY to it, as every API server up to 1.35 does).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ACI_TAINT_KEY, BURST_NAMESPACE_ENABLED, BURST_NAMESPACE_LABEL } from '../../contract/index.ts';
import { createCertificateAuthority, issueCertificate } from '../../runtime/tls.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with the test cluster's kubeconfig; bounded by `timeoutMs`. */
function kubectl(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return runProcess(cluster.kubectlPath, ['--kubeconfig', cluster.kubeconfigPath, ...args], options);
}

function runProcess(
  file: string,
  args: string[],
  options: { input?: string; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Starts a long-running kubectl (attach, port-forward) and resolves once its output matches `ready`. */
function startKubectl(
  args: string[],
  ready: RegExp,
): Promise<{ match: RegExpMatchArray; output: () => string; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cluster.kubectlPath, ['--kubeconfig', cluster.kubeconfigPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const stop = (): void => {
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`kubectl ${args.join(' ')} did not print ${String(ready)}; it printed: ${output}`));
    }, 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ match, output: () => output, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('close', () => {
      clearTimeout(timer);
    });
    after(stop);
  });
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

function webPod(name: string, nodeName: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName,
      containers: [
        {
          name: 'web',
          image: 'busybox',
          // A line a second for ten minutes: what `kubectl attach` shows.
          command: ['sh', '-c', `echo serving; ${'sleep 1; echo tick; '.repeat(600)}`],
          ports: [{ containerPort: 8080 }],
        },
      ],
      tolerations: [{ key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
    },
  };
}

const MODES = [
  {
    protocol: 'WebSocket to the node',
    webSockets: 'true',
    exec: 'websocket v5.channel.k8s.io',
    portForward: 'websocket SPDY/3.1+portforward.k8s.io',
  },
  {
    protocol: 'SPDY to the node',
    webSockets: 'false',
    exec: 'SPDY/3.1 v4.channel.k8s.io',
    portForward: 'SPDY/3.1 portforward.k8s.io',
  },
] as const;

describe('exec, attach and port-forward', () => {
  let emulator: RunningEmulator;
  const connectors: RunningConnector[] = [];
  let namespace: string;

  before(async () => {
    emulator = await startEmulator();
    namespace = await cluster.createNamespace('streaming', {
      [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED,
    });
  });

  after(async () => {
    for (const connector of connectors) {
      await connector.stop();
      await core.deleteNode({ name: connector.nodeName }).catch(() => undefined);
    }
    await emulator.close();
  });

  for (const mode of MODES) {
    describe(mode.protocol, () => {
      const nodeName = `aci-stream-${mode.webSockets === 'true' ? 'ws' : 'spdy'}-${randomBytes(3).toString('hex')}`;
      const pod = `web-${mode.webSockets === 'true' ? 'ws' : 'spdy'}`;

      let connector: RunningConnector;
      /** The transports the node logged for its sessions, e.g. `websocket v5.channel.k8s.io`. */
      const transports = (): Set<string> =>
        new Set(
          connector
            .logText()
            .split('\n')
            .filter((line) => line.includes('"session started"'))
            .map((line) => (JSON.parse(line) as { transport?: string }).transport ?? ''),
        );

      before(async () => {
        connector = await startConnector({
          cluster,
          emulator,
          nodeName,
          env: { KUBELET_WEBSOCKETS: mode.webSockets, NODE_STATUS_INTERVAL_SECONDS: '2' },
        });
        connectors.push(connector);
        await eventually(`${nodeName} to declare its streaming support`, async () => {
          const node = await core.readNode({ name: nodeName });
          const declared = node.status?.declaredFeatures ?? [];
          return declared.includes('ExtendWebSocketsToKubelet') === (mode.webSockets === 'true')
            ? node
            : undefined;
        });
        await core.createNamespacedPod({ namespace, body: webPod(pod, nodeName) });
        await eventually(
          `${pod} to be Running with an IP`,
          async () => {
            const found = await core.readNamespacedPod({ namespace, name: pod });
            return found.status?.phase === 'Running' && found.status.podIP ? found : undefined;
          },
          60_000,
        );
      });

      it('exec prints stdout and stderr and exits with the command’s code', async () => {
        const result = await kubectl([
          'exec',
          '-n',
          namespace,
          pod,
          '--',
          'sh',
          '-c',
          'echo out; echo err >&2; exit 3',
        ]);
        assert.equal(result.code, 3, result.stderr);
        assert.match(result.stdout + result.stderr, /out\n/);
        assert.match(result.stdout + result.stderr, /err\n/);
        assert.deepEqual([...transports()], [mode.exec]);
      });

      it('exec passes arguments verbatim: quotes, $(), backticks, newlines and ; are not interpreted', async () => {
        const argv = [`a"b`, `it's`, '$(echo pwned)', '`echo pwned`', 'two\nlines', ';', '&&', '$HOME'];
        const result = await kubectl(['exec', '-n', namespace, pod, '--', 'echo', ...argv]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, `${argv.join(' ')}\n`);
      });

      it('exec -i round-trips stdin', async () => {
        const input = 'first line\nsecond line\n';
        const result = await kubectl(['exec', '-i', '-n', namespace, pod, '--', 'cat', '-'], { input });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, input);
      });

      it('exec -it gets a terminal of the caller’s size', async () => {
        await emulator.control.clearRequests();
        // script(1) gives kubectl a real pseudo-terminal, as a person's shell would.
        const command = `stty rows 33 cols 111; ${cluster.kubectlPath} --kubeconfig ${cluster.kubeconfigPath} exec -it -n ${namespace} ${pod} -- sh -c 'echo in-a-tty'`;
        const result = await runProcess('script', ['-qec', command, '/dev/null'], { timeoutMs: 30_000 });
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /in-a-tty\r\n/);
        const execs = (await emulator.control.requests()).filter((entry) => entry.path.endsWith('/exec'));
        assert.deepEqual(
          execs.map((entry) => (entry.body as { terminalSize?: unknown } | undefined)?.terminalSize),
          [{ rows: 33, cols: 111 }],
        );
      });

      it('attach shows the container’s output', async () => {
        const attached = await startKubectl(['attach', '-n', namespace, pod, '-c', 'web'], /tick\n/);
        attached.stop();
        assert.doesNotMatch(attached.output(), /\r/, 'terminal line ends undone for a caller without a TTY');
      });

      it('port-forward reaches the declared port on the group’s IP', async () => {
        const forward = await startKubectl(
          ['port-forward', '-n', namespace, `pod/${pod}`, ':8080'],
          /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/,
        );
        const response = await get(`http://127.0.0.1:${forward.match[1] ?? ''}/through-the-tunnel`);
        forward.stop();
        assert.equal(response.status, 200);
        assert.match(response.body, /through-the-tunnel/);
        assert.ok(transports().has(mode.portForward), [...transports()].join(', '));
      });

      it('port-forward to an undeclared port fails with the reason instead of hanging', async () => {
        const forward = await startKubectl(
          ['port-forward', '-n', namespace, `pod/${pod}`, ':9999'],
          /Forwarding from 127\.0\.0\.1:(\d+) -> 9999/,
        );
        await get(`http://127.0.0.1:${forward.match[1] ?? ''}/`).catch(() => undefined);
        await eventually('kubectl to print the refusal', () =>
          Promise.resolve(/port 9999 is not declared by pod/.test(forward.output()) ? true : undefined),
        );
        forward.stop();
      });
    });
  }

  it('a user without pods/exec is refused by the API server', async () => {
    const result = await kubectl(['exec', '--as=someone', '-n', namespace, 'web-ws', '--', 'echo', 'x']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Forbidden|forbidden/);
  });

  it('the kubelet API refuses a client certificate its client CA did not sign, at the handshake', async () => {
    const connector = connectors[0];
    assert.ok(connector);
    const stranger = issueCertificate(
      createCertificateAuthority({ commonName: 'not-the-cluster', now: new Date() }),
      { commonName: 'system:admin', organizations: ['system:masters'], now: new Date() },
      'client',
    );
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: connector.kubeletPort,
        cert: stranger.certPem,
        key: stranger.keyPem,
        rejectUnauthorized: false,
      });
      socket.once('secureConnect', () => {
        socket.write(`GET /exec/${namespace}/web-ws/web?command=id&output=1 HTTP/1.1\r\nHost: x\r\n\r\n`);
      });
      socket.once('data', (data: Buffer) => {
        resolve(`answered: ${data.toString()}`);
      });
      socket.once('error', (error: Error) => {
        resolve(`refused: ${error.message}`);
      });
      socket.once('close', () => {
        resolve('refused: closed');
      });
    });
    assert.match(outcome, /^refused/);
  });
});
