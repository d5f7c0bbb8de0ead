import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough, type Duplex } from 'node:stream';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Lifecycle, V1Pod } from '@kubernetes/client-node';
import { FakeClock } from '../runtime/clock.ts';
import { silentLogger } from '../runtime/logger.ts';
import { type HookDeps, LifecycleHooks, preStopBudgetMs, runHook } from './hooks.ts';
import type { PodEvent } from './ports.ts';
import type { TerminalSessionDeps } from './streaming/terminal-session.ts';

const NONCE = 'n0';

/** ACI's terminal as the shell answers a hook's line: the markers around `output`, then `code`. */
function answeringTerminal(typed: string[], reply: { output: string; code: number }): Duplex {
  const terminal = new PassThrough();
  const toClient = new PassThrough();
  terminal.on('data', (chunk: Buffer) => {
    typed.push(chunk.toString('utf8'));
    toClient.end(`$ \u001e${NONCE}B\u001e\r\n${reply.output}\u001e${NONCE}E${reply.code}\u001e\r\n`);
  });
  // Writes go to `terminal`, reads come from `toClient`.
  return Object.assign(toClient, { write: terminal.write.bind(terminal) });
}

function deps(
  clock: FakeClock,
  options: { reply?: { output: string; code: number }; status?: number } = {},
): HookDeps & { typed: string[]; recorded: PodEvent[]; restarts: string[]; execs: string[] } {
  const typed: string[] = [];
  const recorded: PodEvent[] = [];
  const restarts: string[] = [];
  const execs: string[] = [];
  const terminal: TerminalSessionDeps = {
    terminals: {
      openExec: (group, container, command) => {
        execs.push(`${group}/${container}: ${command}`);
        return Promise.resolve({ webSocketUri: 'wss://aci.invalid/exec', password: 'p' });
      },
      openAttach: () => Promise.reject(new Error('not used')),
    },
    dial: () => Promise.resolve(answeringTerminal(typed, options.reply ?? { output: '', code: 0 })),
    schedule: (ms, fire) => clock.after(ms, fire),
    nonce: () => NONCE,
    firstResizeWaitMs: 1000,
    idleTimeoutMs: 60_000,
  };
  return {
    terminal,
    httpGet: () => Promise.resolve(options.status ?? 200),
    timers: clock,
    events: { record: (_pod, event) => recorded.push(event) },
    logger: silentLogger(),
    restartGroup: (name) => {
      restarts.push(name);
      return Promise.resolve();
    },
    typed,
    recorded,
    restarts,
    execs,
  };
}

function pod(lifecycle: V1Lifecycle, metadata: V1Pod['metadata'] = {}): V1Pod {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-1', ...metadata },
    spec: {
      terminationGracePeriodSeconds: 30,
      containers: [
        { name: 'app', image: 'nginx', lifecycle, ports: [{ name: 'http', containerPort: 8080 }] },
      ],
    },
  };
}

function runningGroup(startTime = '2026-01-01T00:00:00Z'): ContainerGroup {
  return {
    osType: 'Linux',
    ipAddress: { ip: '10.1.0.4', ports: [{ port: 8080 }], type: 'Private' },
    containers: [
      {
        name: 'app',
        image: 'nginx',
        resources: { requests: { cpu: 1, memoryInGB: 1 } },
        instanceView: { currentState: { state: 'Running', startTime: new Date(startTime) } },
      },
    ],
  };
}

describe('runHook', () => {
  const table: {
    name: string;
    lifecycle: V1Lifecycle['preStop'];
    reply?: { output: string; code: number };
    status?: number;
    result: RegExp | 'ok';
  }[] = [
    { name: 'an exec hook that exits 0', lifecycle: { exec: { command: ['/drain'] } }, result: 'ok' },
    {
      name: 'an exec hook that exits 3, quoting its output',
      lifecycle: { exec: { command: ['sh', '-c', 'exit 3'] } },
      reply: { output: 'no config\r\n', code: 3 },
      result:
        /Exec lifecycle hook \(\["sh","-c","exit 3"\]\) failed - error: exit code 3, message: "no config"/,
    },
    {
      name: 'an httpGet hook answered 204',
      lifecycle: { httpGet: { port: 'http', path: '/stop' } },
      status: 204,
      result: 'ok',
    },
    {
      name: 'an httpGet hook answered 500',
      lifecycle: { httpGet: { port: 8080, path: '/stop' } },
      status: 500,
      result: /HTTP lifecycle hook \(\/stop\) failed - error: HTTP status 500/,
    },
    {
      name: 'an exec hook without a command',
      lifecycle: { exec: { command: [] } },
      result: /has no command/,
    },
  ];
  for (const row of table) {
    it(row.name, async () => {
      const clock = new FakeClock();
      const hookDeps = deps(clock, {
        ...(row.reply && { reply: row.reply }),
        ...(row.status && { status: row.status }),
      });
      const container = pod({ preStop: row.lifecycle }).spec?.containers[0];
      assert.ok(container);
      const result = await runHook(
        hookDeps,
        { group: 'g', container, ip: '10.1.0.4' },
        row.lifecycle ?? {},
        new AbortController().signal,
      );
      if (row.result === 'ok') assert.deepEqual(result, { ok: true });
      else assert.match(result.ok ? '' : result.message, row.result);
    });
  }

  it('runs even a one-word exec hook through the shell, so its exit code comes back', async () => {
    const clock = new FakeClock();
    const hookDeps = deps(clock);
    const container = pod({}).spec?.containers[0];
    assert.ok(container);
    await runHook(
      hookDeps,
      { group: 'g', container, ip: undefined },
      { exec: { command: ['/drain'] } },
      new AbortController().signal,
    );
    assert.deepEqual(hookDeps.execs, ['g/app: /bin/sh']);
    assert.match(hookDeps.typed.join(''), /'command' '\/drain' <\/dev\/null/);
  });
});

describe('preStopBudgetMs', () => {
  const now = Date.UTC(2026, 0, 1);
  const table: { name: string; metadata: V1Pod['metadata']; budget: number }[] = [
    { name: 'the grace period', metadata: {}, budget: 30_000 },
    { name: "the deletion's own grace period", metadata: { deletionGracePeriodSeconds: 5 }, budget: 5_000 },
    {
      name: 'what is left until the deletion timestamp',
      metadata: { deletionGracePeriodSeconds: 30, deletionTimestamp: new Date(now + 12_000) },
      budget: 12_000,
    },
    {
      name: 'nothing once the deletion timestamp passed',
      metadata: { deletionTimestamp: new Date(now - 1) },
      budget: 0,
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      assert.equal(preStopBudgetMs(pod({}, row.metadata), now), row.budget);
    });
  }
});

describe('LifecycleHooks', () => {
  it('runs a preStop hook once, and reports its failure as FailedPreStopHook', async () => {
    const clock = new FakeClock();
    const hookDeps = deps(clock, { reply: { output: '', code: 1 } });
    const hooks = new LifecycleHooks(hookDeps);
    const stopping = pod({ preStop: { exec: { command: ['/drain'] } } });
    await hooks.preStop(stopping, 'g', runningGroup(), clock.now());
    await hooks.preStop(stopping, 'g', runningGroup(), clock.now());
    assert.equal(hookDeps.execs.length, 1, 'a retried deletion does not run it again');
    assert.deepEqual(
      hookDeps.recorded.map((event) => [event.type, event.reason]),
      [['Warning', 'FailedPreStopHook']],
    );
  });

  it('abandons a preStop hook when the grace period ends', async () => {
    const clock = new FakeClock();
    const hooks = new LifecycleHooks(deps(clock));
    let done = false;
    const stopping = pod({ preStop: { sleep: { seconds: 600 } } }, { deletionGracePeriodSeconds: 5 });
    const running = hooks.preStop(stopping, 'g', runningGroup(), clock.now()).then(() => {
      done = true;
    });
    await clock.advance(4_999);
    assert.equal(done, false, 'still within the grace period');
    await clock.advance(1);
    await running;
    assert.equal(done, true);
  });

  it('skips the preStop hook of a container ACI does not report running', async () => {
    const clock = new FakeClock();
    const hookDeps = deps(clock);
    await new LifecycleHooks(hookDeps).preStop(
      pod({ preStop: { exec: { command: ['/drain'] } } }),
      'g',
      undefined,
      clock.now(),
    );
    assert.deepEqual(hookDeps.execs, []);
  });

  it('runs postStart once per start; a failure is FailedPostStartHook and a restart, backing off', async () => {
    const clock = new FakeClock();
    const hookDeps = deps(clock, { reply: { output: '', code: 2 } });
    const hooks = new LifecycleHooks(hookDeps);
    const starting = pod({ postStart: { exec: { command: ['/warm'] } } });
    hooks.postStart(starting, 'g', runningGroup());
    hooks.postStart(starting, 'g', runningGroup());
    await clock.advance(0);
    assert.equal(hookDeps.execs.length, 1, 'once for one start');
    assert.deepEqual(hookDeps.restarts, ['g'], 'the first failure restarts at once');
    assert.deepEqual(
      hookDeps.recorded.map((event) => event.reason),
      ['FailedPostStartHook'],
    );

    hooks.postStart(starting, 'g', runningGroup('2026-01-01T00:01:00Z'));
    await clock.advance(9_999);
    assert.equal(hookDeps.execs.length, 2, 'the new start runs it again');
    assert.deepEqual(hookDeps.restarts, ['g'], 'the second restart waits 10 s');
    await clock.advance(1);
    assert.deepEqual(hookDeps.restarts, ['g', 'g']);
  });
});
