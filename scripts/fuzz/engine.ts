// The fuzz engine: runs numbered cases against weighted targets, each case seeded by (seed, index),
// and counts crashes (a handler threw, or the process saw an unhandled rejection or exception), hangs
// (a case that did not finish within HANG_MS) and malformed answers (the target's own check failed).
import { performance } from 'node:perf_hooks';
import { caseSeed, Random } from './random.ts';

/** One kind of input fed to one real handler. */
export interface Target {
  readonly name: string;
  /** Its share of the cases. */
  readonly weight: number;
  /**
   * Runs one case: undefined when the answer was well formed, else what was wrong with it. Rejects
   * only when the code under test threw (a crash).
   */
  run(random: Random): Promise<string | undefined>;
  /** Stops servers; returns what was left behind (a follow still polling, a socket open), if anything. */
  close(): Promise<string | undefined>;
}

/** A case running longer than this counts as a hang; real ones take milliseconds. */
export const HANG_MS = 10_000;

export interface Failure {
  target: string;
  case: number;
  kind: 'crash' | 'hang' | 'malformed';
  detail: string;
}

export interface TargetCounts {
  cases: number;
  crashes: number;
  hangs: number;
  malformed: number;
  slowestMs: number;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  crashes: number;
  hangs: number;
  malformed: number;
  seconds: number;
  /** Cases were cut short by the time bound. */
  stoppedByDeadline: boolean;
  byTarget: Record<string, TargetCounts>;
  /** One example of each distinct failure (the first 20), each replayable with --seed and --case. */
  failures: Failure[];
}

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** No case starts after this (epoch ms). */
  deadline: number;
  /** Run only this case (a replay). */
  only?: number;
}

const MAX_REPORTED_FAILURES = 20;

function pickTarget(random: Random, targets: readonly Target[]): Target {
  const total = targets.reduce((sum, target) => sum + target.weight, 0);
  let point = random.next() * total;
  for (const target of targets) {
    point -= target.weight;
    if (point < 0) return target;
  }
  return targets[targets.length - 1] as Target;
}

function describeError(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`.slice(0, 500)
    : String(error).slice(0, 500);
}

type CaseResult = { kind: 'ok' } | { kind: 'hang' } | { kind: 'crash' | 'malformed'; detail: string };

async function runCase(target: Target, random: Random): Promise<CaseResult> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<CaseResult>((resolve) => {
    timer = setTimeout(() => {
      resolve({ kind: 'hang' });
    }, HANG_MS);
  });
  // Through an async function, so a handler that throws before its first await is a crash too.
  const ran = (async () => target.run(random))().then(
    (malformed): CaseResult =>
      malformed === undefined ? { kind: 'ok' } : { kind: 'malformed', detail: malformed },
    (error: unknown): CaseResult => ({ kind: 'crash', detail: describeError(error) }),
  );
  try {
    return await Promise.race([ran, hung]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runFuzz(targets: readonly Target[], options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const byTarget: Record<string, TargetCounts> = Object.fromEntries(
    targets.map((target) => [target.name, { cases: 0, crashes: 0, hangs: 0, malformed: 0, slowestMs: 0 }]),
  );
  const failures: Failure[] = [];
  const seen = new Set<string>();
  let current = { target: 'none', case: -1 };
  const record = (failure: Failure): void => {
    const counts = byTarget[failure.target];
    if (counts)
      counts[failure.kind === 'crash' ? 'crashes' : failure.kind === 'hang' ? 'hangs' : 'malformed'] += 1;
    // One example of each distinct failure: a bug that fires a thousand times is one line.
    const key = `${failure.target}|${failure.kind}|${failure.detail.replace(/\d+/g, 'N')}`;
    if (!seen.has(key) && failures.length < MAX_REPORTED_FAILURES) failures.push(failure);
    seen.add(key);
  };
  // A rejection nobody handles ends a Node process: here it is the crash it would have been.
  const escaped = (error: unknown): void => {
    record({ ...current, kind: 'crash', detail: `escaped: ${describeError(error)}` });
  };
  process.on('unhandledRejection', escaped);
  process.on('uncaughtException', escaped);
  let stoppedByDeadline = false;
  try {
    const indexes = options.only === undefined ? undefined : [options.only];
    const total = indexes?.length ?? options.cases;
    for (let position = 0; position < total; position += 1) {
      if (Date.now() > options.deadline) {
        stoppedByDeadline = true;
        break;
      }
      const index = indexes?.[position] ?? position;
      const random = new Random(caseSeed(options.seed, index));
      const target = pickTarget(random, targets);
      current = { target: target.name, case: index };
      const counts = byTarget[target.name] as TargetCounts;
      counts.cases += 1;
      const before = performance.now();
      const result = await runCase(target, random);
      const elapsed = performance.now() - before;
      counts.slowestMs = Math.max(counts.slowestMs, Math.round(elapsed));
      if (result.kind === 'hang' || elapsed > HANG_MS) {
        record({ ...current, kind: 'hang', detail: `${Math.round(elapsed)} ms` });
      } else if (result.kind !== 'ok') {
        record({ ...current, kind: result.kind, detail: result.detail });
      }
    }
    current = { target: 'teardown', case: -1 };
    for (const target of targets) {
      const left = await target.close();
      if (left !== undefined)
        record({ target: target.name, case: -1, kind: 'hang', detail: `left behind: ${left}` });
    }
    // Let a late rejection from the last cases surface before the listeners go.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off('unhandledRejection', escaped);
    process.off('uncaughtException', escaped);
  }
  const sum = (key: 'cases' | 'crashes' | 'hangs' | 'malformed'): number =>
    Object.values(byTarget).reduce((total, counts) => total + counts[key], 0);
  return {
    seed: options.seed,
    cases: sum('cases'),
    crashes: sum('crashes'),
    hangs: sum('hangs'),
    malformed: sum('malformed'),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    stoppedByDeadline,
    byTarget,
    failures,
  };
}
