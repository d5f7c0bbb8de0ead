// `npm run chaos [-- <scenario>...] [--seed N] [--pods N] [--kills N] [--delete-kills N]
// [--outage-seconds N] [--timeout-seconds N]`: runs the chaos scenarios (all five by default) against
// the local cluster (`npm run cluster -- up`; apiserver-outage starts a private one of its own and stops
// it) and the in-process ACI emulator, and prints one JSON line per scenario. Exits 1 when a goal was
// missed. Loopback only; every wait is bounded by --timeout-seconds.
import { userInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultStateDir } from '../controlplane/layout.ts';
import {
  clusterAccess,
  privateClusterDir,
  sharedCluster,
  startPrivateCluster,
  sweepAbandonedClusters,
  type PrivateCluster,
} from './clusters.ts';
import { SCENARIOS, FULL_SIZES, type ScenarioName } from './catalogue.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string', default: '17' },
    pods: { type: 'string' },
    kills: { type: 'string' },
    'delete-kills': { type: 'string' },
    'outage-seconds': { type: 'string' },
    'timeout-seconds': { type: 'string', default: '600' },
  },
});
const known = Object.keys(SCENARIOS) as ScenarioName[];
const chosen = positionals.length === 0 ? known : positionals;
const unknown = chosen.filter((name) => !known.includes(name as ScenarioName));
const whole = (text: string | undefined): number | undefined =>
  text === undefined ? undefined : Number.isInteger(Number(text)) && Number(text) >= 0 ? Number(text) : NaN;
const numbers = {
  seed: whole(values.seed),
  pods: whole(values.pods),
  kills: whole(values.kills),
  deleteKills: whole(values['delete-kills']),
  outageSeconds: whole(values['outage-seconds']),
  timeoutSeconds: whole(values['timeout-seconds']),
};
if (unknown.length > 0 || Object.values(numbers).some((n) => Number.isNaN(n))) {
  console.error(
    `usage: npm run chaos -- [${known.join('|')}]... [--seed N] [--pods N] [--kills N] [--delete-kills N] ` +
      '[--outage-seconds N] [--timeout-seconds N] (whole numbers)',
  );
  process.exit(2);
}

const sharedDir = defaultStateDir(process.env, userInfo().uid);
// Stopped by a signal: the private control plane goes by its pids, and exiting kills the connector
// children (scripts/local/node-process.ts); the emulator lives in this process.
let privateCluster: PrivateCluster | undefined;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    process.stderr.write(`${signal}: stopping what this run started\n`);
    void (privateCluster?.stop() ?? Promise.resolve()).finally(() => process.exit(code));
  });
}
let failed = false;
for (const name of chosen as ScenarioName[]) {
  const size = FULL_SIZES[name];
  const base = {
    seed: numbers.seed ?? 17,
    pods: numbers.pods ?? size.pods,
    kills: numbers.kills ?? size.kills,
    deleteKills: numbers.deleteKills ?? size.deleteKills,
    outageSeconds: numbers.outageSeconds ?? size.outageSeconds,
    timeoutSeconds: numbers.timeoutSeconds ?? 600,
    progress: (step: string) => {
      process.stderr.write(`[${name}] ${new Date().toISOString()} ${step}\n`);
    },
  };
  const started = Date.now();
  let report: Record<string, unknown>;
  try {
    if (name === 'apiserver-outage') {
      await sweepAbandonedClusters(tmpdir());
      const stateDir = privateClusterDir(tmpdir());
      const cluster = await startPrivateCluster(stateDir, process.env, (line) => {
        process.stderr.write(`[cluster] ${line}\n`);
      });
      privateCluster = cluster;
      try {
        report = await SCENARIOS[name]({
          ...base,
          cluster: clusterAccess(cluster.state),
          privateClusterDir: stateDir,
        });
      } finally {
        await cluster.stop();
        privateCluster = undefined;
      }
    } else {
      report = await SCENARIOS[name]({ ...base, cluster: clusterAccess(sharedCluster(sharedDir)) });
    }
  } catch (error) {
    report = {
      scenario: name,
      goalsMet: false,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  failed ||= report['goalsMet'] !== true;
  console.log(JSON.stringify({ ...report, runSeconds: (Date.now() - started) / 1000 }));
}
process.exit(failed ? 1 : 0);
