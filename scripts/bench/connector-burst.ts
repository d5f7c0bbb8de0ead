// A burst of N pods bound at once, with the connector's default settings against the emulator's
// default ARM buckets and ACI's default create windows (100 per 5 minutes, 300 per hour; the
// container-group quota is raised to N so that only the windows pace). Measured per pod, on virtual
// time (support/connector-world.ts): from ACI's own start of the container (the instance view's
// startTime) to the connector reporting the pod Running (goal: within 10 s), from bind to Running, and
// the creates sent against what the windows allowed over the same time (goal: at least 95%).
//
//   npm run bench -- connector-burst [pods=1000]
import { performance } from 'node:perf_hooks';
import { CREATE_WINDOW_MARGIN_MS } from '../../connector/pacing.ts';
import { percentile, round, startWorld } from './support/connector-world.ts';

const pods = Number(process.argv[2] ?? 1000);

const world = await startWorld({
  emulator: { quotas: { containerGroups: pods * 2, standardCores: pods * 2 } },
});
const windows = world.config.createLimits;
const start = world.clock.now();
for (let i = 0; i < pods; i += 1) world.bind(i);
// The creates alone take this long at ACI's windows; then ~30 s to provision.
const ideal = idealCreateTimes(pods, windows, start);
const allowedMs = (ideal.at(-1) ?? start) - start + 30 * 60_000;
const realStart = performance.now();
const allRunning = await world.clock.run(() => world.running() === pods, allowedMs);
const realSeconds = (performance.now() - realStart) / 1000;
const end = world.clock.now();

const records = [...world.pods.values()];
const lagSeconds = records
  .flatMap((r) =>
    r.runningAt !== undefined && r.startedAt !== undefined ? [(r.runningAt - r.startedAt) / 1000] : [],
  )
  .sort((a, b) => a - b);
const bindToRunningSeconds = records
  .flatMap((r) => (r.runningAt !== undefined ? [(r.runningAt - r.boundAt) / 1000] : []))
  .sort((a, b) => a - b);
// Creates used against the windows: the last create compared with when a perfect pacer would have
// sent the same number (ACI's windows are the limit, so the ideal is bursts at each window's edge).
const startedAt = records
  .flatMap((r) => (r.startedAt === undefined ? [] : [r.startedAt]))
  .sort((a, b) => a - b);
const idealLastStart = (ideal.at(-1) ?? start) + 30_000;
const actualLastStart = startedAt.at(-1) ?? end;
const sample = records.at(-1)?.pacedMessage;
const { tally } = world;

console.log(
  JSON.stringify({
    benchmark: 'connector-burst',
    method: `virtual time: ${String(round((end - start) / 60_000))} min of ACI and connector time in ${String(round(realSeconds))} s (ARM calls take no time); default settings; realistic emulator timeline (~30 s to start); ACI windows ${windows.map((w) => `${String(w.limit)}/${String(w.windowMs / 60_000)}min`).join(', ')}`,
    node: process.version,
    pods,
    running: world.running(),
    allRunning,
    runningAfterAciStartSeconds: {
      p50: round(percentile(lagSeconds, 0.5)),
      p99: round(percentile(lagSeconds, 0.99)),
      max: round(lagSeconds.at(-1) ?? Number.NaN),
      goalMax: 10,
    },
    bindToRunningMinutes: {
      p50: round(percentile(bindToRunningSeconds, 0.5) / 60),
      max: round((bindToRunningSeconds.at(-1) ?? Number.NaN) / 60),
    },
    creates: {
      sent: tally.writes,
      lastStartMinutes: round((actualLastStart - start) / 60_000),
      idealLastStartMinutes: round((idealLastStart - start) / 60_000),
      // Over the whole backlog: the time a perfect pacer needed over the time taken.
      windowUse: round((idealLastStart - start) / (actualLastStart - start), 3),
      goalWindowUse: 0.95,
    },
    throttled: tally.throttled,
    reads: { lists: tally.lists, gets: tally.gets, other: tally.otherReads },
    waitingPodSays: sample,
  }),
);
await world.close();

/** When each of `count` creates could go at the earliest under the windows (plus the pacer's margin). */
function idealCreateTimes(
  count: number,
  limits: readonly { limit: number; windowMs: number }[],
  from: number,
): number[] {
  const times: number[] = [];
  let at = from;
  while (times.length < count) {
    const wait = Math.max(
      0,
      ...limits.map((l) => {
        const window = l.windowMs + CREATE_WINDOW_MARGIN_MS;
        const inWindow = times.filter((t) => t > at - window);
        return inWindow.length < l.limit ? 0 : (inWindow[inWindow.length - l.limit] ?? at) + window - at;
      }),
    );
    if (wait === 0) times.push(at);
    else at += wait;
  }
  return times;
}
