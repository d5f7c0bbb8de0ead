// The admission webhook end to end: two replicas of the real process (`node webhook/main.ts`) share
// one certificate Secret they race to create, publish its CA into a MutatingWebhookConfiguration,
// and the real kube-apiserver calls them over TLS while kubectl applies workloads. The configuration
// is the one webhookConfiguration() builds, pointed at 127.0.0.1 and narrowed to this file's
// namespaces, because the cluster is shared with other test files.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { request } from 'node:https';
import { createInterface } from 'node:readline';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { AdmissionregistrationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  ACI_TOLERATION,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  checkPod,
} from '../../contract/index.ts';
import { denialMessage } from '../../webhook/decision.ts';
import { WEBHOOK_NAMES, webhookConfiguration } from '../../webhook/configuration.ts';
import { useTestCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';

const repoRoot = new URL('../../', import.meta.url);
const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const admission = cluster.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
const runId = randomBytes(3).toString('hex');
const configurationName = `aci-burst-webhook-test-${runId}`;
const schedulerName = `aci-burst-scheduler-${runId}`;

/** A port free right now; the webhook is told it up front because the configuration names it. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

interface Replica {
  port: number;
  child: ChildProcess;
  logs: Record<string, unknown>[];
}

async function startReplica(systemNamespace: string, port: number): Promise<Replica> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: cluster.kubeconfigPath,
    WEBHOOK_PORT: String(port),
    WEBHOOK_HOST: '127.0.0.1',
    WEBHOOK_NAMESPACE: systemNamespace,
    WEBHOOK_CONFIGURATION_NAME: configurationName,
    TLS_EXTRA_HOSTS: '127.0.0.1',
    // The local API server presents a client certificate from the cluster CA to every webhook
    // (--admission-control-config-file): only it gets reviews.
    CLIENT_CA_FILE: cluster.caPath,
    ACI_SCHEDULER_NAME: schedulerName,
    SHUTDOWN_GRACE_SECONDS: '2',
    LOG_LEVEL: 'info',
  };
  // The child is a server, not a test file.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['webhook/main.ts'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the webhook did not start within 20s: ${JSON.stringify(logs)}`));
    }, 20_000);
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'webhook serving') {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the webhook exited with ${String(code)} before serving: ${JSON.stringify(logs)}`));
    });
  });
  return { port, child, logs };
}

/** The serving certificate's fingerprint and the body of an ops route. */
function get(port: number, path: string): Promise<{ fingerprint: string; text: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (response) => {
      const fingerprint = (response.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        resolve({ fingerprint, text });
      });
    })
      .on('error', reject)
      .end();
  });
}

function kubectl(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cluster.kubectlPath,
      [`--kubeconfig=${cluster.kubeconfigPath}`, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

function aciTolerations(pod: V1Pod): number {
  return (pod.spec?.tolerations ?? []).filter((toleration) => toleration.key === ACI_TOLERATION.key).length;
}

const hostPathPod = (namespace: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'log-shipper', namespace, labels: { app: 'log-shipper', 'azure.com/aci': 'required' } },
  spec: {
    containers: [
      {
        name: 'shipper',
        image: 'busybox:1.36',
        command: ['sh', '-c', 'tail -F /host/var/log/syslog'],
        volumeMounts: [{ name: 'varlog', mountPath: '/host/var/log' }],
      },
    ],
    volumes: [{ name: 'varlog', hostPath: { path: '/var/log' } }],
  },
});

describe('the admission webhook on a real control plane', { timeout: 120_000 }, () => {
  let systemNamespace = '';
  let workloads = '';
  const replicas: Replica[] = [];

  before(async () => {
    systemNamespace = await cluster.createNamespace('webhook-system');
    workloads = await cluster.createNamespace('webhook-shop');
    const url = `https://127.0.0.1:${await freePort()}`;
    // As installed from manifests/, but calling this file's replica by URL and limited to its namespaces.
    const configuration = webhookConfiguration({
      name: configurationName,
      namespace: systemNamespace,
      target: { url },
    });
    for (const entry of configuration.webhooks ?? []) {
      entry.namespaceSelector?.matchExpressions?.push({
        key: 'kubernetes.io/metadata.name',
        operator: 'In',
        values: [workloads],
      });
    }
    await admission.createMutatingWebhookConfiguration({ body: configuration });
    const port = Number(new URL(url).port);
    // Two replicas start together and race to create the certificate Secret.
    replicas.push(
      ...(await Promise.all([
        startReplica(systemNamespace, port),
        startReplica(systemNamespace, await freePort()),
      ])),
    );
  });

  after(async () => {
    await admission.deleteMutatingWebhookConfiguration({ name: configurationName }).catch(() => undefined);
    await Promise.all(
      replicas.map(async (replica) => {
        if (replica.child.exitCode === null) {
          replica.child.kill('SIGTERM');
          await once(replica.child, 'exit');
        }
      }),
    );
  });

  it('both replicas serve the one chain from the Secret, whose CA is in the caBundle', async () => {
    const [first, second] = await Promise.all(replicas.map((replica) => get(replica.port, '/healthz')));
    assert.equal(first?.text, 'ok');
    assert.equal(first.fingerprint, second?.fingerprint);
    const secret = await core.readNamespacedSecret({
      name: 'aci-burst-webhook-tls',
      namespace: systemNamespace,
    });
    assert.equal(secret.type, 'kubernetes.io/tls');
    const installed = await admission.readMutatingWebhookConfiguration({ name: configurationName });
    for (const entry of installed.webhooks ?? [])
      assert.equal(entry.clientConfig.caBundle, secret.data?.['ca.crt']);
  });

  it('a Deployment in a labelled namespace gets pods with one toleration and the second scheduler', async () => {
    const label = await kubectl([
      'label',
      'namespace',
      workloads,
      `${BURST_NAMESPACE_LABEL}=${BURST_NAMESPACE_ENABLED}`,
    ]);
    assert.equal(label.code, 0, label.stderr);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: workloads },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'nginx',
                image: 'nginx:1.27',
                ports: [{ containerPort: 80 }],
                resources: { requests: { cpu: '250m', memory: '256Mi' } },
              },
            ],
          },
        },
      },
    };
    const applied = await kubectl(['apply', '-f', '-'], JSON.stringify(deployment));
    assert.equal(applied.code, 0, applied.stderr);
    // No kubelet runs: the pods stay Pending, which is all this needs.
    const pods = await eventually('the Deployment’s 2 pods', async () => {
      const list = await core.listNamespacedPod({ namespace: workloads, labelSelector: 'app=web' });
      return list.items.length === 2 ? list.items : undefined;
    });
    for (const pod of pods) {
      assert.equal(aciTolerations(pod), 1, JSON.stringify(pod.spec?.tolerations));
      assert.deepEqual(
        { ...pod.spec?.tolerations?.find((toleration) => toleration.key === ACI_TOLERATION.key) },
        ACI_TOLERATION,
      );
      assert.equal(pod.spec?.schedulerName, schedulerName);
    }
  });

  it('answers only the API server: a review from a caller without its client certificate is refused', async () => {
    const [replica] = replicas;
    assert.ok(replica);
    const status = await new Promise<number>((resolve, reject) => {
      request(
        {
          host: '127.0.0.1',
          port: replica.port,
          path: '/mutate/required',
          method: 'POST',
          rejectUnauthorized: false,
          agent: false,
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end('{}');
    });
    assert.equal(status, 403);
  });

  it('a pod labelled azure.com/aci=never is left alone', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stays-home', namespace: workloads, labels: { 'azure.com/aci': 'never' } },
      spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
    };
    const applied = await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    assert.equal(applied.code, 0, applied.stderr);
    const created = await core.readNamespacedPod({ name: 'stays-home', namespace: workloads });
    assert.equal(aciTolerations(created), 0);
    assert.equal(created.spec?.schedulerName, 'default-scheduler');
  });

  it('a pod ACI cannot run in a labelled namespace is created without the toleration, with a warning', async () => {
    const pod = hostPathPod(workloads);
    pod.metadata = { name: 'local-logs', namespace: workloads };
    const applied = await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(
      applied.stderr,
      /^Warning: will not burst to ACI: spec\.volumes\[0\]\.hostPath: volume "varlog" mounts/m,
    );
    const created = await core.readNamespacedPod({ name: 'local-logs', namespace: workloads });
    assert.equal(aciTolerations(created), 0);
  });

  it('kubectl apply of a required pod with a hostPath volume is rejected with every problem', async () => {
    const pod = hostPathPod(workloads);
    const applied = await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    assert.equal(applied.code, 1);
    const problems = checkPod(pod);
    assert.equal(problems[0]?.path, 'spec.volumes[0].hostPath');
    assert.equal(
      applied.stderr,
      `Error from server (Forbidden): error when creating "STDIN": admission webhook "${WEBHOOK_NAMES.required}" denied the request: ${denialMessage(problems)}\n`,
    );
    await assert.rejects(core.readNamespacedPod({ name: 'log-shipper', namespace: workloads }), {
      code: 404,
    });
  });

  it('counted each review by entry and outcome, and stops cleanly on SIGTERM', async () => {
    const metrics = (await Promise.all(replicas.map((replica) => get(replica.port, '/metrics'))))
      .map((reply) => reply.text)
      .join('\n');
    assert.match(
      metrics,
      /aci_burst_webhook_reviews_total\{entry="burst",outcome="steered",component="webhook"\} 2/,
    );
    assert.match(
      metrics,
      /aci_burst_webhook_reviews_total\{entry="required",outcome="denied",component="webhook"\} 1/,
    );
    for (const replica of replicas) {
      replica.child.kill('SIGTERM');
      const [code] = (await once(replica.child, 'exit')) as [number | null];
      assert.equal(code, 0);
      assert.ok(replica.logs.some((entry) => entry.msg === 'webhook stopped'));
    }
  });
});
