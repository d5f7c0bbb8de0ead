import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  execProgram,
  newBudget,
  runShellText,
  SHELL_LIMITS,
  shellContext,
  type ShellRun,
  type ShellRuntime,
} from './exec-shell.ts';
import type { ContainerSpec, VolumeSpec } from './spec.ts';
import { Terminal } from './terminal.ts';
import { connectorLine } from './testing.ts';

const container: ContainerSpec = {
  name: 'app',
  image: 'nginx',
  command: [],
  environmentVariables: [
    { name: 'MODE', value: 'burst' },
    { name: 'TOKEN', secureValue: 's3cr3t' },
  ],
  ports: [],
  volumeMounts: [
    { name: 'config', mountPath: '/etc/app/', readOnly: true },
    { name: 'scratch', mountPath: '/data/scratch', readOnly: false },
  ],
  cpu: 1,
  memoryInGB: 1,
};
const volumes: VolumeSpec[] = [
  { name: 'config', kind: 'secret', files: { 'a.conf': 'a=1\n', 'b.conf': 'b=2\n' } },
  { name: 'scratch', kind: 'emptyDir', files: {} },
];
const context = shellContext(container, volumes, 'web-1');

interface Outcome {
  /** What reached the terminal (stdout and stderr are one stream), before terminal processing. */
  output: string;
  status: number;
  sleeps: number[];
  /** stty settings in effect at the end. */
  echo: boolean;
  /** Inputs never read. */
  unread: number;
}

/** Drives a program to its end: reads take the next input (end-of-file when none is left), sleeps pass. */
function drive(start: (runtime: ShellRuntime) => ShellRun, input: (string | null)[] = []): Outcome {
  let output = '';
  const sleeps: number[] = [];
  const terminal = new Terminal({ rows: 24, cols: 80 });
  const runtime: ShellRuntime = {
    context,
    tty: {
      write: (text) => {
        output += text;
      },
      configure: (args) => terminal.configure(args),
    },
    budget: newBudget(),
  };
  const program = start(runtime);
  const queue = [...input];
  let step = program.next();
  while (!step.done) {
    const effect = step.value;
    if (effect.kind === 'sleep') sleeps.push(effect.ms);
    step = program.next(effect.kind === 'read' ? (queue.shift() ?? null) : undefined);
  }
  return { output, status: step.value, sleeps, echo: terminal.modes.echo, unread: queue.length };
}

function run(text: string, input: (string | null)[] = []): Outcome {
  return drive((runtime) => runShellText(text, runtime), input);
}

const B = (nonce: string): string => `\x1e${nonce}B\x1e\n`;
const E = (nonce: string, status: number): string => `\x1e${nonce}E${status}\x1e\n`;

/** Arguments a connector that forgot to quote would turn into something else. */
const NASTY = [
  "it's",
  '$(echo pwned)',
  '`echo pwned`',
  'two\nlines',
  'a; echo injected',
  '&& echo injected',
  '"double"',
  'back\\slash',
  '$HOME',
  '*',
  '',
  '-n',
  '\\036',
];

describe('the connector line', () => {
  it('passes every argument through unchanged and reports the exit status between the markers', () => {
    const outcome = run(connectorLine('9f1c', ['printf', '[%s]\\n', ...NASTY], { stdin: false, tty: false }));
    const printed = NASTY.map((word) => `[${word}]\n`).join('');
    assert.equal(outcome.output, `${B('9f1c')}${printed}${E('9f1c', 0)}`);
    assert.equal(outcome.status, 0);
    assert.equal(outcome.echo, false, 'stty -echo took effect');
  });

  it("gives sh -c its script and arguments, merges stderr into the stream, and reports sh's exit status", () => {
    const outcome = run(
      connectorLine(
        'ab',
        ['sh', '-c', 'echo out; echo err >&2; echo "$0:$1:$2"; exit 3', 'zero', "o'ne", '$(x)'],
        {
          stdin: false,
          tty: false,
        },
      ),
    );
    assert.equal(outcome.output, `${B('ab')}out\nerr\nzero:o'ne:$(x)\n${E('ab', 3)}`);
  });

  it('runs a lifecycle hook through `command`, reporting its exit status (connector/hooks.ts)', () => {
    const outcome = run(
      connectorLine('c0', ['command', 'sh', '-c', 'echo drained; exit 4'], { stdin: false, tty: false }),
    );
    assert.equal(outcome.output, `${B('c0')}drained\n${E('c0', 4)}`);
    assert.equal(
      run(connectorLine('c1', ['command', 'true'], { stdin: false, tty: false })).output,
      `${B('c1')}${E('c1', 0)}`,
    );
  });

  it('would visibly change the output if an argument were left unquoted (what the tests rely on)', () => {
    assert.equal(run('printf "[%s]" $(echo pwned) `echo pwned`').output, '[pwned][pwned]');
    assert.equal(run(`printf '[%s]' '$(echo pwned)'`).output, '[$(echo pwned)]');
  });

  it('with -i leaves the user’s input to the command: cat copies it until end-of-file', () => {
    const outcome = run(connectorLine('77', ['cat'], { stdin: true, tty: false }), [
      'hello\n',
      'world\n',
      null,
    ]);
    assert.equal(outcome.output, `${B('77')}hello\nworld\n${E('77', 0)}`);
  });

  it('with </dev/null a command reading stdin sees end-of-file at once', () => {
    const outcome = run(connectorLine('77', ['cat'], { stdin: false, tty: false }), ['never read\n']);
    assert.equal(outcome.output, `${B('77')}${E('77', 0)}`);
  });

  it('with -t turns echo back on for the command', () => {
    assert.equal(run(connectorLine('1', ['true'], { stdin: false, tty: true })).echo, true);
  });

  it('reports 127 for a command the image lacks', () => {
    const outcome = run(connectorLine('5', ['nope', 'x'], { stdin: false, tty: false }));
    assert.equal(outcome.output, `${B('5')}sh: nope: not found\n${E('5', 127)}`);
  });
});

describe('runShellText', () => {
  const cases: [string, string, number?][] = [
    ['echo hello "big world"', 'hello big world\n'],
    ['echo $MODE-${TOKEN} "$MODE" \'$MODE\'', 'burst-s3cr3t burst $MODE\n'],
    ['X="a  b"; printf "[%s]" $X "$X"', '[a][b][a  b]'],
    ['X=; printf "[%s]" $X "$X" ""', '[][]'],
    ['echo "a\\"b\\$c\\d" \'e\\f\' g\\ h', 'a"b$c\\d e\\f g h\n'],
    ['echo $(echo a; echo b) "$(printf \'x\\n\\n\')"end', 'a b xend\n'],
    ['echo "$(echo "nested $(echo deep)")"', 'nested deep\n'],
    ['echo `echo \\`echo inner\\``', 'inner\n'],
    ['false || echo no && echo yes; echo $?', 'no\nyes\n0\n'],
    ['false; echo $?; true; echo $?', '1\n0\n'],
    ['X=$(exit 4); echo $?', '4\n'],
    ['echo a |\ncat', 'a\n'],
    ["echo 'multi\nline'", 'multi\nline\n'],
    ['echo a # a comment', 'a\n'],
    ['sh -c \'echo "$0|$1|$#|$@"\' n a "b c"', 'n|a|2|a b c\n'],
    ['sh -c \'printf "[%s]" "$@"\' n a "b c" ""', '[a][b c][]'],
    ['sh -c "exit 7"; echo $?', '7\n'],
    ['bash -lc "echo login"', 'login\n'],
    ['X=5 sh -c \'echo $X\'; echo "[$X]"', '5\n[]\n'],
    ['export Y=2; env | cat >/dev/null; printenv Y', '2\n'],
    ['echo hi >/dev/null; echo err 2>/dev/null >&2; echo both 2>&1; echo x 1>&2', 'both\nx\n'],
    ['/bin/echo path; /usr/bin/printf "ok\\n"; /opt/echo x', 'path\nok\nsh: /opt/echo: not found\n'],
    ['echo -n a; echo -e "b\\tc"; echo -E "d\\te"', 'ab\tc\nd\\te\n'],
    ['printenv MODE NOPE; echo $?', 'burst\n1\n'],
    [
      'env',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=web-1\nMODE=burst\nTOKEN=s3cr3t\nHOME=/root\n',
    ],
    ['ls', 'data\netc\n'],
    ['ls -la /etc/app', 'a.conf\nb.conf\n'],
    ['ls /data/scratch', ''],
    ['ls /nope', 'ls: /nope: No such file or directory\n', 1],
    ['cat /etc/app/a.conf /etc/app/b.conf', 'a=1\nb=2\n'],
    ['cat /etc/app; echo $?', 'cat: /etc/app: Is a directory\n1\n'],
    ['cat < /etc/app/a.conf', 'a=1\n'],
    ['cd /etc/app && cat a.conf && pwd', 'a=1\n/etc/app\n'],
    ['cd /nope', "sh: cd: can't cd to /nope: No such file or directory\n"],
    ['echo x > /tmp/f', "sh: can't create /tmp/f: Read-only file system (the emulator writes no files)\n"],
    ['hostname; pwd', 'web-1\n/\n'],
    ['stty size; stty -echo; stty', '24 80\nrows 24; columns 80;\n-echo icanon icrnl isig opost onlcr\n'],
    ['stty -echo </dev/null', "stty: 'standard input': Inappropriate ioctl for device\n"],
    ['stty wobble; echo $?', "stty: invalid argument 'wobble'\n1\n"],
    ['rm -rf /; echo $?', 'sh: rm: not found\n127\n'],
    ['constructor', 'sh: constructor: not found\n'],
    ['echo "open', 'sh: syntax error: unterminated quoted string\n', 2],
    ['exit', '', 0],
    ['false; exit', '', 1],
    ['exit 3; echo never', '', 3],
    ['exit 300', '', 44],
    ['exit x', 'sh: exit: Illegal number: x\n', 2],
    ['sleep 1.5 2m; echo slept', 'slept\n'],
    ['sleep x', "sleep: invalid number 'x'\n", 1],
  ];
  for (const [text, output, status] of cases) {
    it(JSON.stringify(text), () => {
      const outcome = run(text);
      assert.equal(outcome.output, output);
      if (status !== undefined) assert.equal(outcome.status, status);
    });
  }

  it('sleeps for the sum of its arguments, forever for infinity', () => {
    assert.deepEqual(run('sleep 1.5 2m').sleeps, [121_500]);
    assert.deepEqual(run('sleep infinity').sleeps, [Infinity]);
  });

  it('pipes what a stage writes to the next stage, stdin from the terminal to the first', () => {
    assert.equal(run('cat | cat', ['piped\n', null]).output, 'piped\n');
  });
});

describe('runShellText limits', () => {
  it('stops a command that recurses through sh -c', () => {
    const outcome = run(`X='sh -c "$X"'; export X; sh -c "$X"`);
    assert.equal(outcome.output, 'sh: emulator limit: shells nested too deeply\n');
    assert.equal(outcome.status, 2);
  });

  it('stops a command that multiplies its own work through expansion', () => {
    const hundred = 'true;'.repeat(100);
    const outcome = run(`Y='${hundred}'; Z="${'$Y'.repeat(10)}"; sh -c "${'$Z'.repeat(11)}"; echo after`);
    assert.equal(outcome.output, 'sh: emulator limit: too many commands\n');
    assert.ok(1100 * 10 > SHELL_LIMITS.commandsPerLine);
  });

  it('streams through cat to the terminal without a bound of its own (the session bounds its output)', () => {
    const chunk = `${'s'.repeat(1 << 20)}\n`;
    const chunks = Array.from({ length: SHELL_LIMITS.charsPerLine / chunk.length + 2 }, () => chunk);
    const outcome = run('cat', chunks);
    assert.equal(outcome.output.length, chunks.length * chunk.length);
  });

  it('bounds what a command substitution captures, while it captures', () => {
    const chunk = `${'s'.repeat(1 << 20)}\n`;
    const chunks = Array.from({ length: 2 * (SHELL_LIMITS.charsPerLine / chunk.length) }, () => chunk);
    const outcome = run('X=$(cat)', chunks);
    assert.equal(outcome.output, 'sh: emulator limit: too much expansion or captured output\n');
    assert.ok(outcome.unread > 0, 'stopped before reading everything');
  });

  it('stops a word that doubles past its bound', () => {
    const doubling = `X=${'x'.repeat(1024)}; ${'X=$X$X; '.repeat(20)}echo done`;
    const outcome = run(doubling);
    assert.equal(outcome.output, 'sh: emulator limit: word too long\n');
    assert.ok(SHELL_LIMITS.wordChars < 1024 * 2 ** 20);
  });
});

describe('execProgram', () => {
  const exec = (command: string, input: (string | null)[] = [], hasShell = true): Outcome =>
    drive((runtime) => execProgram(command, runtime, { hasShell }), input);

  it('runs a shell that prompts, reads a line at a time and ends at exit with its status', () => {
    const outcome = exec('/bin/sh', ['echo $MODE\n', "echo 'two\n", "lines'\n", 'exit 4\n', 'echo never\n']);
    assert.equal(outcome.output, '# burst\n# > two\nlines\n# ');
    assert.equal(outcome.status, 4);
  });

  it('ends the shell at end-of-file, running what it has', () => {
    assert.equal(exec('sh', ['echo last', null]).output, '# last\n');
  });

  it('runs a single program with no arguments, on the terminal', () => {
    assert.equal(exec('hostname').output, 'web-1\n');
    assert.equal(exec('/bin/cat', ['copied\n', null]).output, 'copied\n');
  });

  it('refuses a command with arguments as the runtime refuses a program it cannot find', () => {
    assert.equal(
      exec('echo hi').output,
      'OCI runtime exec failed: exec failed: unable to start container process: exec: "echo hi": executable file not found in $PATH: unknown\n',
    );
  });

  it('finds no shell in an image without one', () => {
    assert.equal(
      exec('/bin/sh', [], false).output,
      'OCI runtime exec failed: exec failed: unable to start container process: exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown\n',
    );
  });
});
