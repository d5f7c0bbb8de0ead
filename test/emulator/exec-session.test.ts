import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecSession, type ExecSessionOptions, type Timers } from './exec-session.ts';
import { shellContext } from './exec-shell.ts';
import { connectorLine as line } from './testing.ts';

const connectorLine = (argv: string[], options: { stdin: boolean; tty: boolean }): string =>
  line('5e', argv, options);

const context = shellContext(
  {
    name: 'app',
    image: 'nginx',
    command: [],
    environmentVariables: [{ name: 'MODE', value: 'burst' }],
    ports: [],
    volumeMounts: [],
    cpu: 1,
    memoryInGB: 1,
  },
  [],
  'web-1',
);

/** Timers a test fires by hand. */
class ManualTimers implements Timers {
  private next = 0;
  readonly pending = new Map<number, { callback: () => void; ms: number }>();

  setTimeout(callback: () => void, ms: number): unknown {
    this.pending.set(++this.next, { callback, ms });
    return this.next;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Fires the timers set for exactly `ms`. */
  fire(ms: number): void {
    for (const [handle, timer] of [...this.pending]) {
      if (timer.ms !== ms) continue;
      this.pending.delete(handle);
      timer.callback();
    }
  }
}

const IDLE_MS = 600_000;

function open(command: string, options: Partial<ExecSessionOptions> = {}) {
  const timers = new ManualTimers();
  const sent: string[] = [];
  const ends: (string | undefined)[] = [];
  const session = new ExecSession(
    {
      command,
      context,
      hasShell: true,
      terminalSize: { rows: 24, cols: 80 },
      idleMs: IDLE_MS,
      maxOutputChars: 1 << 20,
      ...options,
    },
    {
      send: (text) => {
        sent.push(text);
      },
      end: (reason) => {
        ends.push(reason);
      },
    },
    timers,
  );
  session.start();
  return { session, timers, ends, output: (): string => sent.join('') };
}

/** The terminal's echo of a line typed with echo and onlcr on. */
const echoed = (line: string): string => line.replaceAll('\n', '\r\n');

describe('ExecSession: the connector line through the terminal', () => {
  it('without -t: the prompt, the echo of the line, then raw output between the markers, then the end', () => {
    const line = connectorLine(['sh', '-c', 'echo out; echo err >&2; exit 3'], { stdin: false, tty: false });
    const { session, ends, output } = open('/bin/sh');
    session.input(line);
    assert.equal(output(), `# ${echoed(line)}\x1e5eB\x1e\nout\nerr\n\x1e5eE3\x1e\n`);
    assert.deepEqual(ends, [undefined], 'ends when the shell exits; no exit code is sent');
  });

  it('with -t: the command output and the end marker get \\r\\n back', () => {
    const line = connectorLine(['sh', '-c', 'echo out; echo err >&2; exit 3'], { stdin: false, tty: true });
    const { session, output } = open('/bin/sh');
    session.input(line);
    assert.equal(output(), `# ${echoed(line)}\x1e5eB\x1e\nout\r\nerr\r\n\x1e5eE3\x1e\r\n`);
  });

  it('an argument with a newline spans two lines: the shell prompts PS2 and reads on', () => {
    const line = connectorLine(['printf', '[%s]', 'a\nb', "it's"], { stdin: false, tty: false });
    const { session, output } = open('/bin/sh');
    session.input(line);
    assert.equal(output(), `# ${echoed(line)}> \x1e5eB\x1e\n[a\nb][it's]\x1e5eE0\x1e\n`);
  });

  it('with -i: input sent after the marker is not echoed, and ^D at the start of a line ends cat', () => {
    const { session, ends, output } = open('/bin/sh');
    const line = connectorLine(['cat'], { stdin: true, tty: false });
    session.input(line);
    const before = output();
    session.input('hello\nwor');
    session.input('ld\n\x04');
    assert.equal(output().slice(before.length), 'hello\nworld\n\x1e5eE0\x1e\n');
    assert.deepEqual(ends, [undefined]);
  });

  it('with -i -t: input is echoed, so the client sees it twice (echo and cat), with \\r\\n', () => {
    const { session, output } = open('/bin/sh');
    session.input(connectorLine(['cat'], { stdin: true, tty: true }));
    const before = output();
    session.input('hi\n\x04');
    assert.equal(output().slice(before.length), 'hi\r\nhi\r\n\x1e5eE0\x1e\r\n');
  });
});

describe('ExecSession: an interactive shell', () => {
  it('echoes, prompts, runs each line and ends at exit', () => {
    const { session, ends, output } = open('/bin/sh');
    session.input('echo $MODE\n');
    session.input('exit 4\n');
    assert.equal(output(), '# echo $MODE\r\nburst\r\n# exit 4\r\n');
    assert.deepEqual(ends, [undefined]);
  });

  it('sleeps without blocking, and ^C interrupts the sleep and discards pending input', () => {
    const { session, timers, output } = open('sh');
    session.input('sleep 5; echo after\n');
    session.input('echo queued\n');
    assert.deepEqual([...timers.pending.values()].map((t) => t.ms).sort(), [5000, IDLE_MS]);
    session.input('\x03');
    assert.equal(output(), '# sleep 5; echo after\r\necho queued\r\n^C\r\n# ');
    session.input('echo next\n');
    assert.ok(output().endsWith('echo next\r\nnext\r\n# '));
  });

  it('resumes after a sleep when its timer fires', () => {
    const { session, timers, output } = open('sh');
    session.input('sleep 2; echo woke\n');
    timers.fire(2000);
    assert.ok(output().endsWith('woke\r\n# '));
  });

  it('ends with the shell at ^D on an empty line', () => {
    const { session, ends } = open('sh');
    session.input('\x04');
    assert.deepEqual(ends, [undefined]);
  });
});

describe('ExecSession: bounds and endings', () => {
  it('closes after idling, counting from the opening even without authentication', () => {
    const { timers, ends } = open('/bin/sh');
    timers.fire(IDLE_MS);
    assert.deepEqual(ends, ['idle timeout']);
  });

  it('closes a session whose output passes its bound', () => {
    const { session, ends } = open('/bin/sh', { maxOutputChars: 100 });
    session.input(`printf '%s' ${'x'.repeat(200)}\n`);
    assert.deepEqual(ends, ['output limit reached']);
  });

  it('closes a session whose program does not read what is sent', () => {
    const { session, ends } = open('sh', { idleMs: IDLE_MS });
    session.input('stty -echo; sleep 1\n');
    for (let i = 0; i < 300 && ends.length === 0; i++) session.input(`${'z'.repeat(4000)}\n`);
    assert.deepEqual(ends, ['input overflow: the program does not read its input']);
  });

  it('stops from outside once, and ignores input afterwards', () => {
    const { session, ends, output } = open('sh');
    session.stop('container stopped');
    session.stop('again');
    session.input('echo x\n');
    assert.deepEqual(ends, ['container stopped']);
    assert.equal(output(), '# ');
  });

  it('runs a single program and ends with it; the command string is not split', () => {
    const single = open('hostname');
    assert.equal(single.output(), 'web-1\r\n');
    assert.deepEqual(single.ends, [undefined]);
    assert.match(
      open('echo hi').output(),
      /^OCI runtime exec failed: .*"echo hi": executable file not found in \$PATH: unknown\r\n$/,
    );
  });
});
