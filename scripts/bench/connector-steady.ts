// ARM reads per pod-hour in steady state, and how fresh running pods' status stays, at N running pods
// with the connector's default read settings against the emulator's default ARM read bucket (250,
// refilled at 25 a second). Method: the N pods are created first (with the create windows raised:
// this benchmark is about reads), then one hour of virtual time (support/connector-world.ts) is
// measured: every list page and instance-view GET counted, and for each group the longest time its
// status went without a read ("staleness", how late a crash inside a running group is seen at worst).
//
//   npm run bench -- connector-steady [pods=1000] [hours=1]
import { performance } from 'node:perf_hooks';
import { containerGroupName } from '../../contract/index.ts';
import { percentile, round, startWorld } from './support/connector-world.ts';

const pods = Number(process.argv[2] ?? 1000);
const hours = Number(process.argv[3] ?? 1);
const HOUR = 3_600_000;

const world = await startWorld({
  emulator: {
    quotas: { containerGroups: pods * 2, standardCores: pods * 2 },
    rateLimits: { aciCreatesPerHour: pods * 2, aciCreatesPer5Minutes: pods * 2 },
  },
  createLimits: [{ limit: pods * 2, windowMs: 300_000 }],
});
const setupStart = world.clock.now();
for (let i = 0; i < pods; i += 1) world.bind(i);
const allRunning = await world.clock.run(() => world.running() === pods, HOUR);
const setupMinutes = (world.clock.now() - setupStart) / 60_000;
const setupTally = { ...world.tally.throttled, gets: world.tally.gets, lists: world.tally.lists };
// Ten more minutes for the burst's last reads to settle into the steady pattern.
await world.clock.run(() => false, 600_000);
world.tally.reset();
const windowStart = world.clock.now();
const realStart = performance.now();
await world.clock.run(() => false, hours * HOUR);
const realSeconds = (performance.now() - realStart) / 1000;
const windowEnd = world.clock.now();
const measuredHours = (windowEnd - windowStart) / HOUR;

// The longest stretch each group's status went unread within the window.
const staleness = [...world.pods.values()]
  .map((record) => {
    const name = containerGroupName('bench', record.pod.metadata?.name ?? '', 'bench');
    const times = world.tally.readTimes.get(name) ?? [];
    const edges = [windowStart, ...times, windowEnd];
    let longest = 0;
    for (let i = 1; i < edges.length; i += 1)
      longest = Math.max(longest, (edges[i] ?? 0) - (edges[i - 1] ?? 0));
    return longest / 1000;
  })
  .sort((a, b) => a - b);

const { tally } = world;
console.log(
  JSON.stringify({
    benchmark: 'connector-steady',
    method: `virtual time: ${String(round(measuredHours, 2))} h of ACI and connector time in ${String(round(realSeconds))} s; default read settings; realistic emulator timeline; ARM read bucket 250 + 25/s`,
    node: process.version,
    pods,
    allRunning,
    setup: { minutes: round(setupMinutes), running: world.running(), ...setupTally },
    readsPerPodHour: round(tally.reads / pods / measuredHours, 2),
    goalReadsPerPodHour: 15,
    reads: { lists: tally.lists, gets: tally.gets, other: tally.otherReads },
    throttledReads: tally.throttled.reads,
    stalenessSeconds: {
      p50: round(percentile(staleness, 0.5)),
      p99: round(percentile(staleness, 0.99)),
      max: round(staleness.at(-1) ?? Number.NaN),
    },
  }),
);
await world.close();
