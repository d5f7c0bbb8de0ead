import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duplexPair, PassThrough, type Duplex } from 'node:stream';
import type { TerminalAuth, TerminalEndpoint } from './aci-terminal.ts';
import type { CommandOptions, CommandStreams, TerminalSize } from './command-streams.ts';
import type { CommandOutcome } from './status.ts';
import { runAttach, runExec, type TerminalSessionDeps } from './terminal-session.ts';

const NONCE = 'c0ffee';
const RS = '\u001e';

/** Timers that fire only when the test says so. */
function manualSchedule(): { schedule: TerminalSessionDeps['schedule']; fire: (ms: number) => void } {
  const timers = new Set<{ ms: number; fire: () => void }>();
  return {
    schedule: (ms, fire) => {
      const timer = { ms, fire };
      timers.add(timer);
      return () => timers.delete(timer);
    },
    fire: (ms) => {
      for (const timer of [...timers]) {
        if (timer.ms === ms) {
          timers.delete(timer);
          timer.fire();
        }
      }
    },
  };
}

interface Harness {
  deps: TerminalSessionDeps;
  /** ACI's end of the terminal, once dialled. */
  aci: Promise<Duplex>;
  calls: { api: string; command?: string; size?: { rows: number; cols: number }; auth?: TerminalAuth }[];
  fire: (ms: number) => void;
  /** The connector's end of the terminal. */
  connectorSide: () => Duplex | undefined;
}

function harness(): Harness {
  const calls: Harness['calls'] = [];
  const timers = manualSchedule();
  let deliver: (side: Duplex) => void = () => undefined;
  const aci = new Promise<Duplex>((resolve) => {
    deliver = resolve;
  });
  const endpoint: TerminalEndpoint = { webSocketUri: 'wss://aci.example/exec', password: 'secret' };
  let connectorSide: Duplex | undefined;
  return {
    calls,
    aci,
    fire: timers.fire,
    connectorSide: () => connectorSide,
    deps: {
      terminals: {
        openExec: (_group, _container, command, size) => {
          calls.push({ api: 'exec', command, size });
          return Promise.resolve(endpoint);
        },
        openAttach: () => {
          calls.push({ api: 'attach' });
          return Promise.resolve(endpoint);
        },
      },
      dial: (_endpoint, auth) => {
        calls.push({ api: 'dial', auth });
        const [connector, aciSide] = duplexPair();
        connectorSide = connector;
        deliver(aciSide);
        return Promise.resolve(connector);
      },
      schedule: timers.schedule,
      nonce: () => NONCE,
      firstResizeWaitMs: 1000,
      idleTimeoutMs: 60_000,
    },
  };
}

interface FakeStreams {
  streams: CommandStreams;
  stdin: PassThrough;
  output: () => string;
  outcome: Promise<CommandOutcome>;
  resize: (size: TerminalSize) => void;
  callerCloses: () => void;
}

function fakeStreams(options: Partial<CommandOptions> = {}): FakeStreams {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const listeners: ((size: TerminalSize) => void)[] = [];
  let finish: (outcome: CommandOutcome) => void = () => undefined;
  let closeCaller: () => void = () => undefined;
  const outcome = new Promise<CommandOutcome>((resolve) => {
    finish = resolve;
  });
  const all = { stdin: false, stdout: true, stderr: true, tty: false, ...options };
  return {
    stdin,
    output: () => Buffer.concat(chunks).toString(),
    outcome,
    resize: (size) => {
      for (const listener of listeners) listener(size);
    },
    callerCloses: () => {
      closeCaller();
    },
    streams: {
      options: all,
      stdin: all.stdin ? stdin : undefined,
      stdout,
      stderr: new PassThrough(),
      onResize: (listener) => listeners.push(listener),
      finish,
      closed: new Promise((resolve) => {
        closeCaller = resolve;
      }),
    },
  };
}

/** Reads what the connector typed into ACI's terminal until it contains `until` (leaves the stream open). */
function typed(aci: Duplex, until: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (!text.includes(until)) return;
      aci.off('data', onData);
      aci.pause();
      resolve(text);
    };
    aci.on('data', onData);
    aci.resume();
  });
}

const signal = new AbortController().signal;
const target = { group: 'default-web', container: 'app', signal };

describe('runExec', () => {
  it('runs a command with arguments through /bin/sh and reports its exit code', async () => {
    const h = harness();
    const caller = fakeStreams();
    const done = runExec(h.deps, { ...target, argv: ['sh', '-c', 'echo out; exit 3'] }, caller.streams);
    const aci = await h.aci;
    const line = await typed(aci, 'exit\n');
    assert.match(line, /'sh' '-c' 'echo out; exit 3' <\/dev\/null/);
    aci.write(`/ # ${RS}${NONCE}B${RS}\nout\n${RS}${NONCE}E3${RS}\n`);
    await done;
    assert.deepEqual(await caller.outcome, { kind: 'exit', code: 3 });
    assert.equal(caller.output(), 'out\n');
    assert.deepEqual(h.calls, [
      { api: 'exec', command: '/bin/sh', size: { rows: 24, cols: 80 } },
      { api: 'dial', auth: 'first-message' },
    ]);
  });

  it('passes a command without arguments to ACI as it is, undoing the terminal CRLF for a non-TTY caller', async () => {
    const h = harness();
    const caller = fakeStreams();
    const done = runExec(h.deps, { ...target, argv: ['env'] }, caller.streams);
    const aci = await h.aci;
    aci.end('A=1\r\nB=2\r\n');
    await done;
    assert.deepEqual(await caller.outcome, { kind: 'success' });
    assert.equal(caller.output(), 'A=1\nB=2\n');
    assert.equal(h.calls[0]?.command, 'env');
  });

  it('says the image needs a shell when the terminal closes before the shell started', async () => {
    const h = harness();
    const caller = fakeStreams();
    const done = runExec(h.deps, { ...target, argv: ['ls', '-l'] }, caller.streams);
    const aci = await h.aci;
    aci.end('exec: "/bin/sh": stat /bin/sh: no such file or directory\r\n');
    await done;
    const outcome = await caller.outcome;
    assert.ok(outcome.kind === 'error');
    assert.match(outcome.message, /needs a shell.*no such file/s);
  });

  it('reports a session that ends after the command started but before its status', async () => {
    const h = harness();
    const caller = fakeStreams();
    const done = runExec(h.deps, { ...target, argv: ['sleep', '100'] }, caller.streams);
    const aci = await h.aci;
    aci.end(`${RS}${NONCE}B${RS}\npartial`);
    await done;
    assert.deepEqual(await caller.outcome, {
      kind: 'error',
      message: "ACI's session ended before the command reported its exit status",
    });
    assert.equal(caller.output(), 'partial');
  });

  it('types stdin after the command line and ends it with ^D', async () => {
    const h = harness();
    const caller = fakeStreams({ stdin: true });
    const done = runExec(h.deps, { ...target, argv: ['cat', '-'] }, caller.streams);
    const aci = await h.aci;
    const line = await typed(aci, 'exit\n');
    assert.doesNotMatch(line, /<\/dev\/null/);
    let input = '';
    aci.on('data', (chunk: Buffer) => (input += chunk.toString()));
    aci.resume();
    caller.stdin.end('hello');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(input, '', 'stdin waits until the shell has started the command');
    aci.write(`${RS}${NONCE}B${RS}\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(input, 'hello\u0004\u0004');
    aci.end(`hello${RS}${NONCE}E0${RS}\n`);
    await done;
    assert.deepEqual(await caller.outcome, { kind: 'exit', code: 0 });
    assert.equal(caller.output(), 'hello');
  });

  it('opens a TTY session with the first terminal size the caller sends', async () => {
    const h = harness();
    const caller = fakeStreams({ tty: true, stdin: true });
    const done = runExec(h.deps, { ...target, argv: ['sh'] }, caller.streams);
    caller.resize({ width: 120, height: 40 });
    const aci = await h.aci;
    aci.end('/ # ');
    await done;
    assert.deepEqual(h.calls[0], { api: 'exec', command: 'sh', size: { rows: 40, cols: 120 } });
    assert.equal(caller.output(), '/ # ');
  });

  it('uses 24x80 when a TTY caller sends no size in time', async () => {
    const h = harness();
    const caller = fakeStreams({ tty: true });
    const done = runExec(h.deps, { ...target, argv: ['sh'] }, caller.streams);
    await Promise.resolve();
    h.fire(1000);
    const aci = await h.aci;
    aci.end();
    await done;
    assert.deepEqual(h.calls[0]?.size, { rows: 24, cols: 80 });
  });

  it('ends the session with the reason when the pod is deleted', async () => {
    const h = harness();
    const caller = fakeStreams();
    const deleted = new AbortController();
    const done = runExec(
      h.deps,
      { ...target, signal: deleted.signal, argv: ['sleep', 'infinity'] },
      caller.streams,
    );
    const aci = await h.aci;
    await typed(aci, 'exit\n');
    deleted.abort(new Error('pod default/web was deleted'));
    await done;
    assert.deepEqual(await caller.outcome, { kind: 'error', message: 'pod default/web was deleted' });
    assert.equal(h.connectorSide()?.destroyed, true);
  });

  it('closes a session that stays idle', async () => {
    const h = harness();
    const caller = fakeStreams();
    const done = runExec(h.deps, { ...target, argv: ['sleep', 'infinity'] }, caller.streams);
    await typed(await h.aci, 'exit\n');
    h.fire(60_000);
    await done;
    assert.deepEqual(await caller.outcome, {
      kind: 'error',
      message: 'the session was idle for 60 s and was closed',
    });
  });

  it('refuses arguments the terminal would interpret, before calling ACI', async () => {
    const h = harness();
    const caller = fakeStreams();
    await runExec(h.deps, { ...target, argv: ['echo', '\u0003'] }, caller.streams);
    assert.equal((await caller.outcome).kind, 'error');
    assert.deepEqual(h.calls, []);
  });
});

describe('runAttach', () => {
  it('streams the container output with the password in a header', async () => {
    const h = harness();
    const caller = fakeStreams();
    const done = runAttach(h.deps, target, caller.streams);
    const aci = await h.aci;
    aci.end('started\r\nserving\r\n');
    await done;
    assert.deepEqual(await caller.outcome, { kind: 'success' });
    assert.equal(caller.output(), 'started\nserving\n');
    assert.deepEqual(h.calls, [{ api: 'attach' }, { api: 'dial', auth: 'authorization-header' }]);
  });

  it('refuses stdin with the reason, since ACI attach is output only', async () => {
    const h = harness();
    const caller = fakeStreams({ stdin: true });
    await runAttach(h.deps, target, caller.streams);
    const outcome = await caller.outcome;
    assert.match(outcome.kind === 'error' ? outcome.message : '', /output only.*kubectl exec -i/);
    assert.deepEqual(h.calls, []);
  });
});
