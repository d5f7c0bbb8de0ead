// The demo, step by step: a local control plane (reused or private), the ACI emulator, the webhook
// (registered by URL), the extender inside a second kube-scheduler's configuration, the connector, a
// simulated worker node, the examples applied with kubectl, and a live view until every example is
// Running. Everything it starts goes into a Teardown, stopped in reverse order on every way out.
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig, loadAllYaml } from '@kubernetes/client-node';
import { BURST_NAMESPACE_ENABLED, BURST_NAMESPACE_LABEL, DEFAULT_NODE_NAME } from '../../contract/index.ts';
import { startEmulator } from '../../test/emulator/server.ts';
import { buildControlPlane } from '../controlplane/build.ts';
import {
  clusterStatus,
  readClusterState,
  startCluster,
  stopCluster,
  type ClusterState,
} from '../controlplane/cluster.ts';
import { httpsStatus } from '../controlplane/processes.ts';
import { startScheduler } from '../controlplane/scheduler.ts';
import { startConnectorProcess } from '../local/connector-process.ts';
import { installOptInPolicy } from '../local/opt-in-policy.ts';
import { baseEnvironment, REPO_ROOT, startNodeProcess, type NodeProcess } from '../local/node-process.ts';
import { localExtender } from '../local/scheduler-extender.ts';
import {
  BURST_NAMESPACE,
  DEMO_NAMESPACES,
  EXAMPLE_FILES,
  EXAMPLES_NAMESPACE,
  examplesIn,
  progressOf,
  summaryLines,
  WEBHOOK_NAMESPACE,
  type Example,
  type ExampleProgress,
} from './examples.ts';
import {
  deleteNamespaces,
  deleteNodes,
  deleteWebhookConfiguration,
  ensureNamespace,
  hasDefaultServiceAccount,
  isSchedulable,
  listPods,
  namespacesGone,
  readNode,
  simulatedNodeApi,
  webhookSteers,
} from './kube.ts';
import { examplesDeadlineMs, type DemoOptions } from './options.ts';
import { SIMULATED_NODE_NAME, SimulatedKubelet } from './simulated-node.ts';
import { renderTable } from './table.ts';
import { LiveTable } from './terminal.ts';
import { Teardown } from './teardown.ts';
import { until } from './wait.ts';

/** The second scheduler's name, as in manifests/extender/scheduler.yaml; the webhook gives it to opted-in pods. */
export const BURST_SCHEDULER_NAME = 'aci-burst-scheduler';
const WEBHOOK_CONFIGURATION_NAME = 'aci-burst-demo-webhook';
const OPT_IN_POLICY_NAME = 'aci-burst-demo-opt-in';
const COMPONENT_START_MS = 60_000;
const SIMULATED_SYNC_MS = 1000;
const SIMULATED_HEARTBEAT_MS = 10_000;

export interface DemoEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  /** Where `npm run cluster -- up` keeps its cluster (reused when it is up). */
  sharedStateDir: string;
  /** Where the demo starts its own cluster otherwise. */
  privateStateDir: string;
}

export interface DemoOutput {
  /** A progress line. */
  line(text: string): void;
  /** Raw text (the live table). */
  write(text: string): void;
  /** Whether the table can be redrawn in place (a terminal). */
  redraw: boolean;
}

/** What every step needs: how to report, when to stop, and where to register what it started. */
interface Session {
  options: DemoOptions;
  environment: DemoEnvironment;
  output: DemoOutput;
  signal: AbortSignal;
  teardown: Teardown;
  /** The child processes' logs: removed after a successful run, kept (and named) otherwise. */
  logDir: string;
  say: (text: string) => void;
  /** A bounded wait that ends at once on Ctrl-C. */
  wait: (what: string, probe: () => Promise<boolean>, timeoutMs?: number) => Promise<void>;
}

/** Runs the demo; resolves with the process exit code once everything it started is stopped. */
export async function runDemo(
  options: DemoOptions,
  environment: DemoEnvironment,
  output: DemoOutput,
  signal: AbortSignal,
): Promise<number> {
  const say = (text: string): void => {
    output.line(`demo: ${text}`);
  };
  const session: Session = {
    options,
    environment,
    output,
    signal,
    teardown: new Teardown(),
    logDir: mkdtempSync(join(tmpdir(), 'aci-burst-demo-')),
    say,
    wait: (what, probe, timeoutMs = COMPONENT_START_MS) => until(what, probe, { timeoutMs, signal }),
  };
  let code: number;
  try {
    code = await runSteps(session);
  } catch (error) {
    code = signal.aborted ? 130 : 1;
    say(signal.aborted ? 'interrupted' : `FAILED: ${error instanceof Error ? error.message : String(error)}`);
  }
  const failures = await session.teardown.run(say);
  say(failures.length === 0 ? 'stopped everything it started' : `could not stop: ${failures.join('; ')}`);
  if (code === 0 && failures.length === 0) rmSync(session.logDir, { recursive: true, force: true });
  else say(`logs kept in ${session.logDir}`);
  return code;
}

interface Cluster {
  state: ClusterState;
  reused: boolean;
  core: CoreV1Api;
  admission: AdmissionregistrationV1Api;
}

async function prepareCluster(session: Session): Promise<Cluster> {
  const { environment, say, teardown } = session;
  const shared = readClusterState(environment.sharedStateDir);
  if (shared !== undefined && (await clusterStatus(shared)).ready) {
    say(
      `reusing the cluster \`npm run cluster -- up\` started (${shared.apiServerUrl}); it stays up afterwards`,
    );
    return withClients(shared, true);
  }
  const report = (line: string): void => {
    say(`control plane: ${line}`);
  };
  const binaries = await buildControlPlane({
    repoRoot: REPO_ROOT,
    env: environment.env,
    home: environment.home,
    report,
  });
  session.signal.throwIfAborted();
  // Registered before the start: startCluster records each pid as it goes, so an interrupted start is stopped too.
  teardown.add('the private cluster', () => stopCluster(environment.privateStateDir));
  say(`starting a private control plane in ${environment.privateStateDir} (stopped at the end)`);
  const state = await startCluster({
    stateDir: environment.privateStateDir,
    binaries: binaries.paths,
    kubernetesVersion: binaries.versions.kubernetes,
    // Like a test run's cluster, it lives and dies with the process that started it.
    owner: 'test-run',
    report,
    now: new Date(),
  });
  return withClients(state, false);
}

function withClients(state: ClusterState, reused: boolean): Cluster {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfigPath);
  return {
    state,
    reused,
    core: kubeConfig.makeApiClient(CoreV1Api),
    admission: kubeConfig.makeApiClient(AdmissionregistrationV1Api),
  };
}

/** The demo's virtual network and the subnet delegated to ACI (emulator fixtures). */
const DEMO_NETWORK = 'demo-vnet';
const DEMO_SUBNET = 'aci';

async function runSteps(session: Session): Promise<number> {
  const { options, output, say } = session;
  const started = Date.now();
  const elapsed = (): string => `${Math.round((Date.now() - started) / 1000)}s`;
  const cluster = await prepareCluster(session);
  session.signal.throwIfAborted();
  if (cluster.reused) {
    // A reused cluster outlives the demo: leave no node, and no webhook pointing at a stopped process.
    session.teardown.add('the demo nodes and webhook configuration', async () => {
      await deleteWebhookConfiguration(cluster.admission, WEBHOOK_CONFIGURATION_NAME);
      await deleteNodes(cluster.core, [DEFAULT_NODE_NAME, SIMULATED_NODE_NAME]);
    });
  }
  const { logDir } = session;
  say(`logs of the webhook, extender and connector go to ${logDir}`);
  // The examples run as in AKS with virtual nodes: in a subnet delegated to ACI, with private IPs.
  // Its range lies in 127/8 so the emulator serves the groups there and `kubectl port-forward` works.
  const subnetPrefix = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.0/24`;
  const emulator = await startEmulator({
    timeline: options.fast ? 'fast' : 'realistic',
    virtualNetworks: [
      {
        name: DEMO_NETWORK,
        subnets: [
          {
            name: DEMO_SUBNET,
            addressPrefix: subnetPrefix,
            delegations: ['Microsoft.ContainerInstance/containerGroups'],
          },
        ],
      },
    ],
  });
  session.teardown.add('the ACI emulator', () => emulator.close());
  say(
    `ACI emulator on ${emulator.endpoint} (${options.fast ? 'fast: ~150 ms' : 'realistic: ~30 s'} per container group)`,
  );

  await prepareNamespaces(session, cluster.core);
  await enforceOptIn(session, cluster);
  await startWebhook(session, cluster, logDir);
  await startBurstScheduler(session, cluster, logDir);
  const connector = await startConnectorProcess({
    adminKubeconfigPath: cluster.state.kubeconfigPath,
    kubeletClientCaPath: cluster.state.kubeletClientCaPath,
    azure: emulator,
    nodeName: DEFAULT_NODE_NAME,
    parentEnv: session.environment.env,
    workDir: logDir,
    env: {
      LOG_LEVEL: 'info',
      ACI_LIST_INTERVAL_SECONDS: '2',
      ACI_REFRESH_INTERVAL_SECONDS: '10',
      ACI_ALLOWED_NAMESPACES: EXAMPLES_NAMESPACE,
      ACI_SUBNET_ID: `/subscriptions/${emulator.subscriptionId}/resourceGroups/${emulator.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${DEMO_NETWORK}/subnets/${DEMO_SUBNET}`,
    },
  });
  session.teardown.add(`the connector (pid ${connector.pid()})`, () => connector.stop());
  say(`connector running as virtual node ${DEFAULT_NODE_NAME} (log ${connector.logPath})`);
  say(
    `container groups join subnet ${DEMO_SUBNET} (${subnetPrefix}) of virtual network ${DEMO_NETWORK}: private IPs only`,
  );
  await startSimulatedWorker(session, cluster);
  await session.wait(
    `${DEFAULT_NODE_NAME} and ${SIMULATED_NODE_NAME} to be Ready and schedulable`,
    async () => {
      const nodes = await Promise.all(
        [DEFAULT_NODE_NAME, SIMULATED_NODE_NAME].map((name) => readNode(cluster.core, name)),
      );
      return nodes.every(isSchedulable);
    },
  );
  await session.wait('the API server to call the webhook for the burst namespace', () =>
    webhookSteers(cluster.core, BURST_NAMESPACE, BURST_SCHEDULER_NAME),
  );
  say(`components up in ${elapsed()}`);

  const examples = await applyExamples(cluster.state, say);
  const deadlineMs = examplesDeadlineMs(options);
  const progress = await watchExamples(session, cluster.core, examples, deadlineMs);
  const done = progress.every((item) => item.done);
  say(
    done
      ? `every example reached Running (${elapsed()} since start):`
      : `not every example reached Running within ${deadlineMs / 1000}s:`,
  );
  for (const line of summaryLines(progress)) output.line(line);
  if (options.exitWhenDone) return done ? 0 : 1;

  for (const line of howToLook(cluster.state, logDir)) output.line(line);
  // Checked first: a Ctrl-C that came while the lines above were printed has already fired its event.
  if (!session.signal.aborted) {
    await new Promise<void>((resolve) => {
      session.signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
    });
  }
  say('signal received: stopping');
  return done ? 0 : 1;
}

async function prepareNamespaces(session: Session, core: CoreV1Api): Promise<void> {
  const labels = (name: string): Record<string, string> =>
    name === BURST_NAMESPACE ? { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED } : {};
  await session.wait('the demo namespaces (an earlier run may still be deleting them)', async () =>
    (await Promise.all(DEMO_NAMESPACES.map((name) => ensureNamespace(core, name, labels(name))))).every(
      Boolean,
    ),
  );
  await session.wait('the default service accounts of the demo namespaces', async () =>
    (await Promise.all(DEMO_NAMESPACES.map((name) => hasDefaultServiceAccount(core, name)))).every(Boolean),
  );
  session.say(
    `namespace ${BURST_NAMESPACE} labelled ${BURST_NAMESPACE_LABEL}=${BURST_NAMESPACE_ENABLED} (bursting on); ` +
      `${EXAMPLES_NAMESPACE} is not, but is allow-listed for the 2017 examples, which place pods on ACI themselves`,
  );
}

/** The shipped ValidatingAdmissionPolicy: only the two demo namespaces' pods may reach the virtual node. */
async function enforceOptIn(session: Session, cluster: Cluster): Promise<void> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.state.kubeconfigPath);
  const remove = await installOptInPolicy(kubeConfig, {
    name: OPT_IN_POLICY_NAME,
    virtualNodes: [DEFAULT_NODE_NAME],
    allowedNamespaces: [EXAMPLES_NAMESPACE],
  });
  session.teardown.add(`the ValidatingAdmissionPolicy ${OPT_IN_POLICY_NAME}`, remove);
  session.say(
    `ValidatingAdmissionPolicy ${OPT_IN_POLICY_NAME}: pods reach ${DEFAULT_NODE_NAME} only from ${BURST_NAMESPACE} (labelled) ` +
      `and ${EXAMPLES_NAMESPACE} (allow-listed, as is the connector's ACI_ALLOWED_NAMESPACES)`,
  );
}

function startChild(
  session: Session,
  cluster: Cluster,
  spec: { name: string; entry: string; logDir: string; env: Record<string, string> },
): NodeProcess {
  const child = startNodeProcess({
    name: spec.name,
    entry: spec.entry,
    env: {
      ...baseEnvironment(session.environment.env),
      KUBECONFIG: cluster.state.kubeconfigPath,
      SHUTDOWN_GRACE_SECONDS: '2',
      ...spec.env,
    },
    logPath: join(spec.logDir, `${spec.name}.log`),
  });
  session.teardown.add(`the ${spec.name} (pid ${child.pid})`, () => child.stop());
  return child;
}

async function startWebhook(session: Session, cluster: Cluster, logDir: string): Promise<void> {
  const webhook = startChild(session, cluster, {
    name: 'webhook',
    entry: 'webhook/main.ts',
    logDir,
    env: {
      WEBHOOK_URL: 'https://127.0.0.1',
      WEBHOOK_PORT: '0',
      WEBHOOK_HOST: '127.0.0.1',
      WEBHOOK_NAMESPACE,
      WEBHOOK_CONFIGURATION_NAME,
      ACI_SCHEDULER_NAME: BURST_SCHEDULER_NAME,
    },
  });
  const serving = await webhook.waitForLog(
    '"webhook serving"',
    (entry) => entry.msg === 'webhook serving',
    COMPONENT_START_MS,
  );
  session.say(
    `webhook serving on ${String(serving.url)}, registered by URL as MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION_NAME}`,
  );
}

/** The extender, and a second kube-scheduler whose configuration calls it. */
async function startBurstScheduler(session: Session, cluster: Cluster, logDir: string): Promise<void> {
  const extender = startChild(session, cluster, {
    name: 'extender',
    entry: 'extender/main.ts',
    logDir,
    env: { PORT: '0', BIND_ADDRESS: '127.0.0.1' },
  });
  const listening = await extender.waitForLog(
    '"listening"',
    (entry) => entry.msg === 'listening',
    COMPONENT_START_MS,
  );
  // Logged before "listening", so already there.
  const caEntry = await extender.waitForLog('its CA', (entry) => typeof entry.caData === 'string', 1000);
  const port = Number(listening.port);
  const caPem = Buffer.from(String(caEntry.caData), 'base64').toString('utf8');
  await session.wait(
    'the extender to be ready (its node cache synced)',
    async () => (await httpsStatus(`https://127.0.0.1:${port}/readyz`, { ca: caPem })) === 200,
  );
  const scheduler = await startScheduler(cluster.state, {
    schedulerName: BURST_SCHEDULER_NAME,
    extenders: [localExtender(port, caPem)],
  });
  session.teardown.add(`the ${BURST_SCHEDULER_NAME} kube-scheduler (pid ${scheduler.pid})`, () =>
    scheduler.stop(),
  );
  session.say(
    `extender on https://127.0.0.1:${port}, called by a second kube-scheduler "${BURST_SCHEDULER_NAME}" (the cluster's own cannot be reconfigured while it runs; as on AKS)`,
  );
}

async function startSimulatedWorker(session: Session, cluster: Cluster): Promise<void> {
  const kubelet = new SimulatedKubelet(simulatedNodeApi(cluster.core));
  await kubelet.register(new Date());
  session.teardown.add(`the simulated worker's loop`, runSimulatedKubelet(kubelet, session.say));
  session.say(
    `registered ${SIMULATED_NODE_NAME} (2 cpu, 4Gi, 10 pods): a SIMULATED worker, no kubelet; the demo reports its pods Running with made-up IPs`,
  );
  if (cluster.reused) {
    // Runs while the connector and the simulated worker still confirm pod deletions.
    session.teardown.add('the demo namespaces', async () => {
      await deleteNamespaces(cluster.core, DEMO_NAMESPACES);
      await until('the demo namespaces to be deleted', () => namespacesGone(cluster.core, DEMO_NAMESPACES), {
        timeoutMs: 60_000,
        // The demo's own signal has fired by now (Ctrl-C); this wait is bounded by its timeout alone.
        signal: new AbortController().signal,
      });
    });
  }
}

/** Applies each example with kubectl, as a person would, printing the command. */
async function applyExamples(cluster: ClusterState, say: (text: string) => void): Promise<Example[]> {
  const examples: Example[] = [];
  for (const file of EXAMPLE_FILES) {
    const path = join(REPO_ROOT, file.path);
    say(`kubectl apply -n ${file.namespace} -f ${file.path}`);
    const { stdout } = await promisify(execFile)(
      cluster.binaries.kubectl,
      [`--kubeconfig=${cluster.kubeconfigPath}`, 'apply', '-n', file.namespace, '-f', path],
      { timeout: 30_000 },
    );
    for (const line of stdout.trim().split('\n')) say(`  ${line}`);
    examples.push(...examplesIn(file, loadAllYaml(readFileSync(path, 'utf8'))));
  }
  return examples;
}

/** Redraws the table every few seconds until every example is Running or the deadline passes. */
async function watchExamples(
  session: Session,
  core: CoreV1Api,
  examples: readonly Example[],
  deadlineMs: number,
): Promise<ExampleProgress[]> {
  const { output, signal } = session;
  const table = new LiveTable((text) => {
    output.write(text);
  }, output.redraw);
  const started = Date.now();
  const namespaces = [...new Set(examples.map((example) => example.namespace))];
  let progress = examples.map((example) => progressOf(example, []));
  for (;;) {
    const seconds = Math.round((Date.now() - started) / 1000);
    try {
      const [nodes, pods] = await Promise.all([core.listNode(), listPods(core, namespaces)]);
      progress = examples.map((example) => progressOf(example, pods));
      const running = progress.filter((item) => item.done).length;
      table.show(
        `--- ${seconds}s: ${running}/${examples.length} examples Running ---`,
        renderTable(nodes.items, pods),
      );
    } catch (error) {
      table.show(`--- ${seconds}s ---`, [
        `could not list: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
    if (progress.every((item) => item.done) || Date.now() - started > deadlineMs) break;
    await sleep(2000, undefined, { signal });
  }
  table.release();
  return progress;
}

/** Plays the simulated worker's kubelet until stopped: pod status every second, a heartbeat every ten. */
function runSimulatedKubelet(kubelet: SimulatedKubelet, say: (text: string) => void): () => Promise<void> {
  const stop = new AbortController();
  let lastProblem = '';
  const loop = async (): Promise<void> => {
    let lastBeat = Date.now();
    while (!stop.signal.aborted) {
      try {
        await kubelet.sync(new Date());
        if (Date.now() - lastBeat >= SIMULATED_HEARTBEAT_MS) {
          await kubelet.heartbeat(new Date());
          lastBeat = Date.now();
        }
      } catch (error) {
        // Said once per distinct problem; the next pass tries again.
        const problem = error instanceof Error ? error.message : String(error);
        if (problem !== lastProblem) say(`simulated worker: ${problem} (retrying)`);
        lastProblem = problem;
      }
      await sleep(SIMULATED_SYNC_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  };
  const running = loop();
  return async () => {
    stop.abort();
    await running;
  };
}

function howToLook(cluster: ClusterState, logDir: string): string[] {
  return [
    '',
    'Look around with kubectl (in another terminal):',
    `  export KUBECONFIG=${cluster.kubeconfigPath}`,
    `  export PATH="${dirname(cluster.binaries.kubectl)}:$PATH"   # kubectl ${cluster.kubernetesVersion}, built with the control plane`,
    '  kubectl get nodes',
    '  kubectl get pods -A -o wide',
    `  kubectl logs -n ${EXAMPLES_NAMESPACE} nginx            # from the container group's logs, through the connector`,
    `  kubectl exec -n ${EXAMPLES_NAMESPACE} nginx -- sh -c 'echo "hello from $(hostname)"; exit 3'; echo "exit code $?"`,
    `  kubectl port-forward -n ${EXAMPLES_NAMESPACE} pod/nginx 8080:80 &   # then: curl http://127.0.0.1:8080/`,
    `  kubectl describe node ${SIMULATED_NODE_NAME}   # simulated: no kubelet, its pods are only reported Running`,
    `  kubectl scale -n ${BURST_NAMESPACE} deployment web --replicas=6   # watch the extra replicas burst`,
    `Logs of the demo's processes (removed when it stops cleanly): ${logDir}`,
    'Press Ctrl-C to stop everything the demo started.',
  ];
}
