// `npm run fuzz -- [--seed N] [--cases N] [--seconds N] [--case N]`: feeds generated and mutated
// AdmissionReviews, ExtenderArgs, container-group JSON and kubelet-API requests to the real handlers,
// in process and over HTTPS on loopback, and prints one JSON line: cases run, crashes, hangs and
// malformed answers, per target, with the first failures (each replayable with --seed and --case).
// Exits 1 when any of the three is not 0. Bounded: no case starts after --seconds.
import { parseArgs } from 'node:util';
import { runFuzz } from './engine.ts';
import { fuzzTargets } from './targets.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    cases: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '900' },
    case: { type: 'string' },
  },
});
const seed = Number(values.seed);
const cases = Number(values.cases);
const seconds = Number(values.seconds);
if (
  ![seed, cases, seconds].every(Number.isInteger) ||
  (values.case !== undefined && !Number.isInteger(Number(values.case)))
) {
  console.error('usage: npm run fuzz -- [--seed N] [--cases N] [--seconds N] [--case N] (whole numbers)');
  process.exit(2);
}
const report = await runFuzz(await fuzzTargets(), {
  seed,
  cases,
  deadline: Date.now() + seconds * 1000,
  ...(values.case !== undefined && { only: Number(values.case) }),
});
console.log(JSON.stringify(report));
process.exit(report.crashes + report.hangs + report.malformed === 0 ? 0 : 1);
