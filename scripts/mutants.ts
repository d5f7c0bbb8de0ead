// `npm run mutants`: breaks the code on purpose, one safeguard at a time, and checks that a unit test
// notices. Each mutant is applied to a copy of the source tree in a temporary directory (the working
// tree is never touched), only the unit test files that guard it run there, and one JSON line per
// mutant says whether they failed ("killed"). Exits 1 when a mutant survives, when a mutant no
// longer applies (its code changed: update the mutant), or when the tests fail without any mutant.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Mutant {
  name: string;
  /** What the mutant breaks, in words. */
  breaks: string;
  file: string;
  /** Text found exactly once in `file`, replaced by `to`. */
  from: string;
  to: string;
  /** The unit test files expected to fail. */
  tests: string[];
}

const POD_CONTROLLER_TESTS = ['connector/pod-controller.test.ts'];

/** The two steps of deleting a pod, in the order pod-controller.ts takes them (the mutant swaps them). */
const GROUP_REMOVAL = `    if (current) {
      // preStop hooks run before the group goes, within the pod's grace period.
      await this.deps.hooks?.preStop(pod, current.name, current.detail, this.deps.clock.now());
      await this.removeGroup(current.name, log.child({ group: current.name }), 'pod deleted');
    } else {
      const name = this.groupName(pod);
      const found = await this.deps.groups.get(name);
      if (found !== undefined && this.isThisPods(found, pod))
        await this.removeGroup(name, log, 'pod deleted');
    }
`;
const POD_REMOVAL = `    try {
      await this.deps.pods.forceDelete(pod);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
`;

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'status-writes-not-deduplicated',
    breaks: 'a status that changed nothing is written again on every reconcile',
    file: 'connector/pod-controller.ts',
    from: '    if (this.written.get(key) === fingerprint || digest(pod.status) === fingerprint) return;\n',
    to: '',
    tests: POD_CONTROLLER_TESTS,
  },
  {
    name: 'aci-events-reforwarded',
    breaks: 'every ACI event is forwarded again on every read of the group',
    file: 'connector/pod-controller.ts',
    from: 'for (const { id, event } of current) if (!before.has(id)) this.deps.events.record(pod, event);',
    to: 'for (const { event } of current) this.deps.events.record(pod, event);',
    tests: POD_CONTROLLER_TESTS,
  },
  {
    name: 'throttle-gate-never-blocks',
    breaks: "calls go through during a 429's Retry-After",
    file: 'connector/aci.ts',
    from: 'if (wait > 0) await this.clock.sleep(wait);',
    to: 'if (wait > 0) return;',
    tests: ['connector/aci.test.ts', 'connector/aci-throttling.test.ts'],
  },
  {
    name: 'throttle-above-sdk-retries',
    breaks: "the SDK's own retries, and the 429s it retries, pass by the gates",
    file: 'connector/aci.ts',
    from: "client.pipeline.addPolicy(throttlePolicy(gates), { afterPhase: 'Retry' });",
    to: 'client.pipeline.addPolicy(throttlePolicy(gates));',
    tests: ['connector/aci-throttling.test.ts'],
  },
  {
    name: 'events-not-deduplicated',
    breaks: 'the event recorder writes the same event for the same pod every time it is reported',
    file: 'connector/kube.ts',
    from: '    if (last !== undefined && now - last < this.dedupeWindowMs) return;\n',
    to: '',
    tests: ['connector/kube.test.ts'],
  },
  {
    name: 'pacer-slot-kept-after-refusal',
    breaks: 'a create Azure refused (4xx, 429) still counts against the create limit',
    file: 'connector/pod-controller.ts',
    from: '      if (classified.refused) this.deps.pacer.release(now);\n',
    to: '',
    tests: [...POD_CONTROLLER_TESTS, 'connector/pacing.test.ts'],
  },
  {
    name: 'inaccessible-image-final',
    breaks: 'a create refused for an inaccessible image fails the pod instead of being retried',
    file: 'connector/pod-controller.ts',
    from: "      if (classified.reaction === 'fail') {",
    to: "      if (classified.reaction === 'fail' || classified.reaction === 'retry-pull') {",
    tests: POD_CONTROLLER_TESTS,
  },
  {
    name: 'dns-config-dropped',
    breaks: "the translation leaves the pod's DNS settings out of the container group",
    file: 'contract/network.ts',
    from: 'const dnsConfig = dns ? { dnsConfig: dns } : {};',
    to: 'const dnsConfig = {};',
    tests: ['contract/network.test.ts', 'contract/translate.test.ts'],
  },
  {
    name: 'pod-deleted-before-group',
    breaks: 'a deleted pod object is removed before its container group (which may then bill for ever)',
    file: 'connector/pod-controller.ts',
    from: GROUP_REMOVAL + POD_REMOVAL,
    to: POD_REMOVAL + GROUP_REMOVAL,
    tests: POD_CONTROLLER_TESTS,
  },
  {
    name: 'request-body-grows-unbounded',
    breaks: 'a body sent without a Content-Length (chunked) is kept and parsed however large it grows',
    file: 'runtime/http-limits.ts',
    from: 'if (size <= limitBytes) {',
    to: 'if (size >= 0) {',
    tests: ['runtime/http-limits.test.ts', 'webhook/server.test.ts'],
  },
  {
    name: 'token-request-unbounded',
    breaks: 'a token endpoint that never answers holds every ARM call for ever',
    file: 'connector/token-timeout.ts',
    from: 'if (request.timeout <= 0 || request.timeout > timeoutMs) request.timeout = timeoutMs;',
    to: 'void timeoutMs;',
    tests: ['connector/token-timeout.test.ts'],
  },
  {
    name: 'abandoned-token-refresh-fatal',
    breaks: "the SDK's failed background token refresh ends the connector",
    file: 'connector/token-timeout.ts',
    from: 'return classifyAzureError(reason).code === TOKEN_UNAVAILABLE;',
    to: 'return false;',
    tests: ['connector/token-timeout.test.ts'],
  },
  {
    name: 'sweep-ignores-live-owner',
    breaks: "a chaos run sweeps another live run's private control plane",
    file: 'scripts/chaos/clusters.ts',
    from: 'if (owner === undefined || deps.alive(Number(owner))) continue;',
    to: 'if (owner === undefined) continue;',
    tests: ['scripts/chaos/clusters.test.ts'],
  },
  {
    name: 'tracker-keeps-whole-read',
    breaks: 'every tracked group keeps the whole instance-view read, its spec too (heap per group)',
    file: 'connector/groups.ts',
    from: '    const kept = detailEntry(detail);',
    to: '    const kept = detail;',
    tests: ['connector/groups.test.ts'],
  },
  {
    name: 'informer-keeps-watched-objects-whole',
    breaks: 'pods arriving by watch keep their managed fields in the cache (heap per pod)',
    file: 'runtime/informer.ts',
    from: "callback(phase, phase === 'ERROR' ? object : this.keep(object), event);",
    to: 'callback(phase, object, event);',
    tests: ['runtime/informer.test.ts'],
  },
];

/** The source the unit tests load; node_modules is linked, not copied. */
const SOURCE_DIRECTORIES = [
  'contract',
  'runtime',
  'connector',
  'webhook',
  'extender',
  'test/fixtures',
  'test/emulator',
  'test/support',
  'scripts',
];
/** One test run may take this long; a mutant that makes a test hang counts as killed. */
const RUN_TIMEOUT_MS = 60_000;

export interface MutantOutcome {
  mutant: string;
  file: string;
  /** The tests failed with the mutant applied (the goal). */
  killed: boolean;
  /** Why the mutant could not be judged (it does not apply, the tests fail without it). */
  problem?: string;
  seconds: number;
}

function runTests(root: string, files: readonly string[]): { passed: boolean; timedOut: boolean } {
  // One process for all the files: starting one per file costs more than the tests themselves. The
  // runner's own context is not passed on, so a run inside `npm test` reports as a run of its own.
  const run = spawnSync(
    process.execPath,
    ['--test', '--test-isolation=none', '--test-reporter=dot', ...files],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: RUN_TIMEOUT_MS,
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    },
  );
  return { passed: run.status === 0, timedOut: run.error !== undefined || run.signal !== null };
}

function occurrences(text: string, part: string): number {
  return part === '' ? 0 : text.split(part).length - 1;
}

/**
 * Applies each mutant in turn to a temporary copy of `projectRoot` and runs its tests there. The
 * tests of every mutant run once unmutated first: a test failing anyway proves nothing.
 */
export function runMutants(
  projectRoot: string,
  mutants: readonly Mutant[] = MUTANTS,
  report: (outcome: MutantOutcome) => void = () => undefined,
): MutantOutcome[] {
  const root = mkdtempSync(join(tmpdir(), 'aci-burst-mutants-'));
  try {
    for (const directory of SOURCE_DIRECTORIES) {
      cpSync(join(projectRoot, directory), join(root, directory), { recursive: true });
    }
    cpSync(join(projectRoot, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(projectRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
    const outcomes: MutantOutcome[] = [];
    const record = (outcome: MutantOutcome): void => {
      outcomes.push(outcome);
      report(outcome);
    };
    const allTests = [...new Set(mutants.flatMap((m) => m.tests))];
    const started = performance.now();
    const baseline = runTests(root, allTests);
    if (!baseline.passed) {
      record({
        mutant: 'none (baseline)',
        file: '',
        killed: false,
        problem: `the tests fail without any mutant: ${allTests.join(' ')}`,
        seconds: (performance.now() - started) / 1000,
      });
      return outcomes;
    }
    for (const mutant of mutants) {
      const path = join(root, mutant.file);
      const original = readFileSync(path, 'utf8');
      const began = performance.now();
      const found = occurrences(original, mutant.from);
      if (found !== 1) {
        record({
          mutant: mutant.name,
          file: mutant.file,
          killed: false,
          problem: `the code to mutate occurs ${found} times in ${mutant.file} (expected once): update the mutant`,
          seconds: 0,
        });
        continue;
      }
      writeFileSync(path, original.replace(mutant.from, mutant.to));
      try {
        const run = runTests(root, mutant.tests);
        record({
          mutant: mutant.name,
          file: mutant.file,
          killed: !run.passed,
          ...(run.timedOut && { problem: `the tests did not finish within ${RUN_TIMEOUT_MS / 1000} s` }),
          seconds: Math.round((performance.now() - began) / 100) / 10,
        });
      } finally {
        writeFileSync(path, original);
      }
    }
    return outcomes;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** True when every mutant was applied and killed. */
export function allKilled(outcomes: readonly MutantOutcome[]): boolean {
  return outcomes.length > 0 && outcomes.every((o) => o.killed && o.problem === undefined);
}

if (import.meta.main) {
  const outcomes = runMutants(join(import.meta.dirname, '..'), MUTANTS, (outcome) => {
    console.log(JSON.stringify(outcome));
  });
  process.exitCode = allKilled(outcomes) ? 0 : 1;
}
