// The shell an exec session runs: a small POSIX-shell interpreter over the parsed script
// (shell-syntax.ts), with built-in commands for the container's env and mounted volumes. Pure: it is a
// generator that yields when it must wait (read the terminal, sleep) and writes through a ShellTty; the
// session (exec-session.ts) performs the waits. Every variable counts as exported. Not emulated: globbing,
// tilde expansion, functions, control structures, writing files.
import { posix } from 'node:path';
import { decodeEscapes, printf } from './shell-printf.ts';
import {
  CommandCompleteness,
  parseScript,
  ShellSyntaxError,
  type AndOr,
  type Pipeline,
  type Redirect,
  type Script,
  type SimpleCommand,
  type Word,
} from './shell-syntax.ts';
import type { ContainerSpec, VolumeSpec } from './spec.ts';
import type { ConfigureResult, ReadResult } from './terminal.ts';

export interface ShellContext {
  hostname: string;
  env: Record<string, string>;
  /** Directories that exist (mount paths and their parents, and /). */
  directories: ReadonlySet<string>;
  /** Absolute path -> content. */
  files: ReadonlyMap<string, string>;
}

/** What the shell waits for: a read of the terminal (answered with ReadResult) or time. */
export type ShellEffect = { kind: 'read' } | { kind: 'sleep'; ms: number };
export type ShellRun<T = number> = Generator<ShellEffect, T, ReadResult>;

/** The terminal as the shell sees it: where tty output goes, and what `stty` changes. */
export interface ShellTty {
  write(text: string): void;
  configure(args: readonly string[]): ConfigureResult;
}

/** ^C: thrown into the generator at the point it waits. */
export class Interrupt extends Error {}

/** `exit`: unwinds to the shell (or subshell) that ends. */
class ExitSignal extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`exit ${status}`);
    this.status = status;
  }
}

/** A bound of the emulator was hit: the command line ends with `sh: emulator limit: …`, status 2. */
class ShellLimitError extends Error {}

export const SHELL_LIMITS = {
  /** Characters in one expanded word or variable. */
  wordChars: 1 << 20,
  /** Nested shells and subshells (sh -c, $( ), pipeline stages). */
  depth: 32,
  /** Commands one command line may run (stops sh -c "$X" recursion). */
  commandsPerLine: 10_000,
  /** Characters one command line may expand or capture ($( ), pipes). */
  charsPerLine: 16 << 20,
  /** A command an interactive shell reads over several lines. */
  commandChars: 64 << 10,
};

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Directories where a command named by path (/bin/cat) is found. */
const BIN_DIRECTORIES = new Set([
  '/bin',
  '/sbin',
  '/usr/bin',
  '/usr/sbin',
  '/usr/local/bin',
  '/usr/local/sbin',
]);
/** $$: the shell's pid inside the container (a fixed stand-in). */
const SHELL_PID = '17';

type Output = { kind: 'tty' } | { kind: 'null' } | { kind: 'buffer'; chunks: string[] };
type Input = { kind: 'tty' } | { kind: 'null' } | { kind: 'text'; text: string | undefined };

interface Stdio {
  in: Input;
  out: Output;
  err: Output;
}

interface ShellState {
  vars: Map<string, string>;
  /** $0 */
  name: string;
  positional: string[];
  /** $? */
  status: number;
  /** The status of the last $( ) in the current command (an assignment-only command's status). */
  substitutionStatus: number | undefined;
  cwd: string;
  depth: number;
}

interface Budget {
  commands: number;
  chars: number;
}

export interface ShellRuntime {
  context: ShellContext;
  tty: ShellTty;
  budget: Budget;
}

interface Scope {
  state: ShellState;
  io: Stdio;
  runtime: ShellRuntime;
}

interface Call extends Scope {
  args: string[];
}

type Builtin = (call: Call) => number | ShellRun;

/** The filesystem and environment a container sees: its env (secure values too) and mounted volumes. */
export function shellContext(
  container: ContainerSpec,
  volumes: readonly VolumeSpec[],
  hostname: string,
): ShellContext {
  const containerEnv = Object.fromEntries(
    container.environmentVariables.map((variable) => [
      variable.name,
      variable.secureValue ?? variable.value ?? '',
    ]),
  );
  const directories = new Set(['/']);
  const files = new Map<string, string>();
  for (const mount of container.volumeMounts) {
    const root = normalize(mount.mountPath);
    for (let dir = root; dir !== '/'; dir = posix.dirname(dir)) directories.add(dir);
    const volume = volumes.find((candidate) => candidate.name === mount.name);
    for (const [name, content] of Object.entries(volume?.files ?? {}))
      files.set(posix.join(root, name), content);
  }
  // The order docker's exec environment has: PATH, HOSTNAME, the container's own, HOME.
  const env = {
    PATH: DEFAULT_PATH,
    HOSTNAME: hostname,
    ...containerEnv,
    ...(containerEnv['HOME'] === undefined && { HOME: '/root' }),
  };
  return { hostname, env, directories, files };
}

/** `/etc/app/` and `/etc//app` are `/etc/app`. */
function normalize(path: string): string {
  const normalized = posix.normalize(posix.isAbsolute(path) ? path : `/${path}`);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

function resolvePath(cwd: string, path: string): string {
  return normalize(posix.resolve(cwd, path));
}

export function newBudget(): Budget {
  return { commands: 0, chars: 0 };
}

function spend(budget: Budget, chars: number): void {
  budget.chars += chars;
  if (budget.chars > SHELL_LIMITS.charsPerLine)
    throw new ShellLimitError('too much expansion or captured output');
}

/** Captured output ($( ), pipes) is held in memory, so it counts; the terminal bounds its own output. */
function write(output: Output, text: string, runtime: ShellRuntime): void {
  if (text === '' || output.kind === 'null') return;
  if (output.kind === 'tty') {
    runtime.tty.write(text);
    return;
  }
  spend(runtime.budget, text.length);
  output.chunks.push(text);
}

function* read(input: Input): ShellRun<string | null> {
  if (input.kind === 'null') return null;
  if (input.kind === 'text') {
    const text = input.text;
    input.text = undefined;
    return text ?? null;
  }
  return (yield { kind: 'read' }) ?? null;
}

function setStatus(scope: Scope, status: number): number {
  scope.state.status = status;
  return status;
}

// ---- expansion ----

/** Builds the fields of one word: quoted text joins, unquoted expansions split on blanks and newlines. */
class Fields {
  private done: string[] = [];
  private current = '';
  private open = false;
  private readonly budget: Budget;

  constructor(budget: Budget) {
    this.budget = budget;
  }

  private add(text: string): void {
    this.current += text;
    this.open = true;
    spend(this.budget, text.length);
    if (this.current.length > SHELL_LIMITS.wordChars) throw new ShellLimitError('word too long');
  }

  literal(text: string, quoted: boolean): void {
    if (quoted || text !== '') this.add(text);
  }

  quoted(value: string): void {
    this.add(value);
  }

  /** "$@": one field per value. */
  many(values: readonly string[]): void {
    values.forEach((value, index) => {
      if (index > 0) this.close();
      this.add(value);
    });
  }

  split(value: string): void {
    value.split(/[ \t\n]+/).forEach((piece, index) => {
      if (index > 0) this.close();
      if (piece !== '') this.add(piece);
    });
  }

  private close(): void {
    if (this.open) this.done.push(this.current);
    this.current = '';
    this.open = false;
  }

  finish(): string[] {
    this.close();
    return this.done;
  }
}

function paramValue(name: string, state: ShellState): string {
  switch (name) {
    case '?':
      return String(state.status);
    case '#':
      return String(state.positional.length);
    case '*':
    case '@':
      return state.positional.join(' ');
    case '$':
      return SHELL_PID;
    case '0':
      return state.name;
    case '!':
    case '-':
      return '';
    default:
      return /^[0-9]+$/.test(name)
        ? (state.positional[Number(name) - 1] ?? '')
        : (state.vars.get(name) ?? '');
  }
}

function withoutTrailingNewlines(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === '\n') end--;
  return text.slice(0, end);
}

function* substitute(script: Script, scope: Scope): ShellRun<string> {
  const chunks: string[] = [];
  const out: Output = { kind: 'buffer', chunks };
  const status = yield* subshell(scope, (inner) => runScript(script, { ...inner, io: { ...inner.io, out } }));
  scope.state.substitutionStatus = status;
  return withoutTrailingNewlines(chunks.join(''));
}

/** A word's fields; without `split` (assignments, redirection targets) always exactly one. */
function* expandWord(word: Word, scope: Scope, split: boolean): ShellRun<string[]> {
  const fields = new Fields(scope.runtime.budget);
  for (const part of word.parts) {
    const quoted = part.quoted || !split;
    if (part.kind === 'text') {
      fields.literal(part.text, quoted);
    } else if (part.kind === 'param' && part.name === '@' && part.quoted && split) {
      fields.many(scope.state.positional);
    } else {
      const value =
        part.kind === 'param' ? paramValue(part.name, scope.state) : yield* substitute(part.script, scope);
      if (quoted) fields.quoted(value);
      else fields.split(value);
    }
  }
  const result = fields.finish();
  return split ? result : [result.join('')];
}

// ---- redirection ----

function openInput(target: string, io: Stdio, scope: Scope): Input | string {
  if (target === '/dev/null') return { kind: 'null' };
  if (target === '/dev/stdin') return io.in;
  if (target === '/dev/tty') return { kind: 'tty' };
  const path = resolvePath(scope.state.cwd, target);
  const content = scope.runtime.context.files.get(path);
  if (content !== undefined) return { kind: 'text', text: content };
  const reason = scope.runtime.context.directories.has(path) ? 'Is a directory' : 'No such file or directory';
  return `can't open '${target}': ${reason}`;
}

function openOutput(target: string, io: Stdio): Output | string {
  if (target === '/dev/null') return { kind: 'null' };
  if (target === '/dev/stdout') return io.out;
  if (target === '/dev/stderr') return io.err;
  if (target === '/dev/tty') return { kind: 'tty' };
  return `can't create ${target}: Read-only file system (the emulator writes no files)`;
}

function duplicate(target: string, io: Stdio): Output | string {
  if (target === '1') return io.out;
  if (target === '2') return io.err;
  if (target === '-') return { kind: 'null' };
  if (target === '0' && io.in.kind === 'tty') return { kind: 'tty' };
  return `${target}: bad file descriptor`;
}

/** The stdio after one redirection, or the error message. */
function applyRedirect(redirect: Redirect, target: string, io: Stdio, scope: Scope): Stdio | string {
  const { fd, op } = redirect;
  if (op === '<' || op === '<&') {
    if (fd !== 0) return `${fd}: only fds 0, 1 and 2 are emulated`;
    if (op === '<&')
      return target === '0'
        ? io
        : target === '-'
          ? { ...io, in: { kind: 'null' } }
          : `${target}: bad file descriptor`;
    const input = openInput(target, io, scope);
    return typeof input === 'string' ? input : { ...io, in: input };
  }
  if (fd !== 1 && fd !== 2) return `${fd}: only fds 0, 1 and 2 are emulated`;
  const output = op === '>&' ? duplicate(target, io) : openOutput(target, io);
  if (typeof output === 'string') return output;
  return fd === 1 ? { ...io, out: output } : { ...io, err: output };
}

function* redirect(redirects: readonly Redirect[], scope: Scope): ShellRun<Stdio | undefined> {
  let io = scope.io;
  for (const item of redirects) {
    const [target = ''] = yield* expandWord(item.target, scope, false);
    const next = applyRedirect(item, target, io, scope);
    if (typeof next === 'string') {
      write(io.err, `sh: ${next}\n`, scope.runtime);
      return undefined;
    }
    io = next;
  }
  return io;
}

// ---- execution ----

function* subshell(scope: Scope, body: (inner: Scope) => ShellRun): ShellRun {
  if (scope.state.depth >= SHELL_LIMITS.depth) throw new ShellLimitError('shells nested too deeply');
  const state: ShellState = {
    ...scope.state,
    vars: new Map(scope.state.vars),
    positional: [...scope.state.positional],
    depth: scope.state.depth + 1,
  };
  try {
    return yield* body({ ...scope, state });
  } catch (error) {
    if (error instanceof ExitSignal) return error.status;
    throw error;
  }
}

function* runScript(script: Script, scope: Scope): ShellRun {
  for (const item of script) yield* runAndOr(item, scope);
  return scope.state.status;
}

function* runAndOr(item: AndOr, scope: Scope): ShellRun {
  let status = yield* runPipeline(item.first, scope);
  for (const { op, pipeline } of item.rest) {
    if ((op === '&&') === (status === 0)) status = yield* runPipeline(pipeline, scope);
  }
  return status;
}

/** `a | b`: each stage in a subshell, run one after the other, each reading what the last wrote. */
function* runPipeline(pipeline: Pipeline, scope: Scope): ShellRun {
  const [only] = pipeline.commands;
  if (pipeline.commands.length === 1 && only) return yield* runCommand(only, scope);
  let input = scope.io.in;
  let status = 0;
  for (const [index, command] of pipeline.commands.entries()) {
    const last = index === pipeline.commands.length - 1;
    const chunks: string[] = [];
    const out: Output = last ? scope.io.out : { kind: 'buffer', chunks };
    const io = { ...scope.io, in: input, out };
    status = yield* subshell(scope, (inner) => runCommand(command, { ...inner, io }));
    input = { kind: 'text', text: chunks.join('') };
  }
  return setStatus(scope, status);
}

/** A new command starts: no $( ) has run in it yet (expansion sets the status again). */
function forgetSubstitution(state: ShellState): void {
  state.substitutionStatus = undefined;
}

function* runCommand(command: SimpleCommand, scope: Scope): ShellRun {
  const { budget } = scope.runtime;
  if (++budget.commands > SHELL_LIMITS.commandsPerLine) throw new ShellLimitError('too many commands');
  forgetSubstitution(scope.state);
  const words: string[] = [];
  for (const word of command.words) {
    for (const field of yield* expandWord(word, scope, true)) words.push(field);
  }
  const assignments: [string, string][] = [];
  for (const assignment of command.assignments) {
    const [value = ''] = yield* expandWord(assignment.value, scope, false);
    assignments.push([assignment.name, value]);
  }
  const io = yield* redirect(command.redirects, scope);
  if (io === undefined) return setStatus(scope, 1);
  const [name, ...args] = words;
  if (name === undefined) {
    for (const [variable, value] of assignments) scope.state.vars.set(variable, value);
    return setStatus(scope, scope.state.substitutionStatus ?? 0);
  }
  const state =
    assignments.length === 0
      ? scope.state
      : { ...scope.state, vars: new Map([...scope.state.vars, ...assignments]) };
  const status = yield* runNamed(name, args, { ...scope, state, io });
  return setStatus(scope, status);
}

function lookupBuiltin(name: string): Builtin | undefined {
  if (!name.includes('/')) return BUILTINS.get(name);
  return BIN_DIRECTORIES.has(posix.dirname(name)) ? BUILTINS.get(posix.basename(name)) : undefined;
}

function* runNamed(name: string, args: string[], scope: Scope): ShellRun {
  const builtin = lookupBuiltin(name);
  if (!builtin) {
    write(scope.io.err, `sh: ${name}: not found\n`, scope.runtime);
    return 127;
  }
  const result = builtin({ ...scope, args });
  return typeof result === 'number' ? result : yield* result;
}

/** Parses and runs a script; a syntax error is reported as sh reports it (status 2). */
function* runText(text: string, scope: Scope): ShellRun {
  let script: Script;
  try {
    script = parseScript(text);
  } catch (error) {
    if (!(error instanceof ShellSyntaxError)) throw error;
    write(scope.io.err, `sh: ${error.message}\n`, scope.runtime);
    return setStatus(scope, 2);
  }
  return yield* runScript(script, scope);
}

/** Runs `body` with a fresh budget; a limit or ^C ends only it (status 2 or 130), as in an interactive shell. */
function* guarded(scope: Scope, body: ShellRun): ShellRun {
  scope.runtime.budget = newBudget();
  try {
    return yield* body;
  } catch (error) {
    if (!(error instanceof Interrupt || error instanceof ShellLimitError)) throw error;
    scope.runtime.budget = newBudget();
    const message = error instanceof ShellLimitError ? `sh: emulator limit: ${error.message}\n` : '\n';
    write(scope.io.err, message, scope.runtime);
    return setStatus(scope, error instanceof Interrupt ? 130 : 2);
  }
}

/** A shell reading commands from stdin: prompts (PS1 `# `, PS2 `> `) only when stdin is the terminal. */
function* readCommands(scope: Scope): ShellRun {
  const completeness = new CommandCompleteness();
  const interactive = scope.io.in.kind === 'tty';
  let pending = '';
  for (;;) {
    // A prompt at the start of a line only (after ^D mid-line the shell is still on that line).
    if (interactive && (pending === '' || pending.endsWith('\n'))) {
      const prompt =
        pending === '' ? (scope.state.vars.get('PS1') ?? '# ') : (scope.state.vars.get('PS2') ?? '> ');
      write(scope.io.err, prompt, scope.runtime);
    }
    let line: string | null;
    try {
      line = yield* read(scope.io.in);
    } catch (error) {
      if (!(error instanceof Interrupt)) throw error;
      write(scope.io.err, '\n', scope.runtime);
      pending = '';
      completeness.reset();
      setStatus(scope, 130);
      continue;
    }
    if (line === null) {
      if (pending !== '') yield* guarded(scope, runText(pending, scope));
      return scope.state.status;
    }
    pending += line;
    if (pending.length > SHELL_LIMITS.commandChars) {
      write(scope.io.err, 'sh: emulator limit: command too long\n', scope.runtime);
      pending = '';
      completeness.reset();
      setStatus(scope, 2);
    } else if (completeness.feed(line)) {
      const text = pending;
      pending = '';
      completeness.reset();
      yield* guarded(scope, runText(text, scope));
    }
  }
}

// ---- built-in commands ----

const SHELL_NAMES = ['sh', 'bash', 'ash', 'dash'];

/** sh [-c SCRIPT [NAME [ARG...]]] | [FILE]: a new shell; its exit status is the caller's $?. */
function* sh(call: Call): ShellRun {
  let index = 0;
  let command = false;
  for (; index < call.args.length; index++) {
    const option = call.args[index] ?? '';
    if (option === '--') {
      index++;
      break;
    }
    if (!/^-[a-z]+$/.test(option)) break;
    const unsupported = option.slice(1).replace(/[cil]/g, '');
    if (unsupported !== '') {
      write(call.io.err, `sh: -${unsupported}: option not emulated\n`, call.runtime);
      return 2;
    }
    command ||= option.includes('c');
  }
  const [first, name, ...rest] = call.args.slice(index);
  if (command && first === undefined) {
    write(call.io.err, 'sh: -c requires an argument\n', call.runtime);
    return 2;
  }
  const fresh = (inner: Scope): Scope => ({
    ...inner,
    state: {
      ...inner.state,
      name: command ? (name ?? 'sh') : (first ?? 'sh'),
      positional: command ? rest : call.args.slice(index + 1),
      status: 0,
    },
  });
  if (command) return yield* subshell(call, (inner) => runText(first ?? '', fresh(inner)));
  if (first === undefined) return yield* subshell(call, (inner) => readCommands(fresh(inner)));
  const file = openInput(first, call.io, call);
  if (typeof file === 'string') {
    write(call.io.err, `sh: ${file}\n`, call.runtime);
    return 127;
  }
  return yield* subshell(call, (inner) => readCommands({ ...fresh(inner), io: { ...inner.io, in: file } }));
}

function echo(call: Call): number {
  let args = call.args;
  let newline = true;
  let escapes = false;
  while (args[0] !== undefined && /^-[neE]+$/.test(args[0])) {
    newline &&= !args[0].includes('n');
    escapes = args[0].includes('E') ? false : escapes || args[0].includes('e');
    args = args.slice(1);
  }
  const decoded = escapes ? decodeEscapes(args.join(' '), 'argument') : { text: args.join(' '), stop: false };
  write(call.io.out, decoded.text + (newline && !decoded.stop ? '\n' : ''), call.runtime);
  return 0;
}

function printfCommand(call: Call): number {
  const [format, ...args] = call.args;
  if (format === undefined) {
    write(call.io.err, 'printf: usage: printf FORMAT [ARGUMENT...]\n', call.runtime);
    return 2;
  }
  const result = printf(format, args);
  write(call.io.out, result.output, call.runtime);
  for (const error of result.errors) write(call.io.err, error, call.runtime);
  return result.errors.length > 0 ? 1 : 0;
}

/** cat: files of the mounted volumes, or stdin (`-` or no arguments) until end-of-file. */
function* cat(call: Call): ShellRun {
  let status = 0;
  for (const target of call.args.length === 0 ? ['-'] : call.args) {
    if (target === '-') {
      for (let chunk = yield* read(call.io.in); chunk !== null; chunk = yield* read(call.io.in)) {
        write(call.io.out, chunk, call.runtime);
      }
      continue;
    }
    const path = resolvePath(call.state.cwd, target);
    const content = call.runtime.context.files.get(path);
    if (content !== undefined) write(call.io.out, content, call.runtime);
    else {
      const reason = call.runtime.context.directories.has(path)
        ? 'Is a directory'
        : 'No such file or directory';
      write(call.io.err, `cat: ${target}: ${reason}\n`, call.runtime);
      status = 1;
    }
  }
  return status;
}

const SLEEP_UNITS: Readonly<Record<string, number>> = {
  '': 1000,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

function* sleep(call: Call): ShellRun {
  if (call.args.length === 0) {
    write(call.io.err, 'sleep: missing operand\n', call.runtime);
    return 1;
  }
  let ms = 0;
  for (const arg of call.args) {
    const match = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg);
    if (arg !== 'infinity' && !match) {
      write(call.io.err, `sleep: invalid number '${arg}'\n`, call.runtime);
      return 1;
    }
    ms += match ? Number(match[1]) * (SLEEP_UNITS[match[2] ?? ''] ?? 1000) : Infinity;
  }
  yield { kind: 'sleep', ms };
  return 0;
}

function exit(call: Call): never {
  const [arg] = call.args;
  if (arg === undefined) throw new ExitSignal(call.state.status);
  if (!/^[0-9]{1,20}$/.test(arg)) {
    write(call.io.err, `sh: exit: Illegal number: ${arg}\n`, call.runtime);
    throw new ExitSignal(2);
  }
  throw new ExitSignal(Number(BigInt(arg) % 256n));
}

function stty(call: Call): number {
  if (call.io.in.kind !== 'tty') {
    write(call.io.err, "stty: 'standard input': Inappropriate ioctl for device\n", call.runtime);
    return 1;
  }
  const result = call.runtime.tty.configure(call.args);
  if (!result.ok) {
    write(call.io.err, result.error, call.runtime);
    return 1;
  }
  write(call.io.out, result.report ?? '', call.runtime);
  return 0;
}

function environment(vars: ReadonlyMap<string, string>): string {
  return [...vars].map(([name, value]) => `${name}=${value}\n`).join('');
}

/** env [NAME=VALUE...] [COMMAND [ARG...]] */
function* env(call: Call): ShellRun {
  const vars = new Map(call.state.vars);
  let index = 0;
  for (; index < call.args.length; index++) {
    const match = /^([^=]+)=(.*)$/s.exec(call.args[index] ?? '');
    if (!match) break;
    vars.set(match[1] ?? '', match[2] ?? '');
  }
  const [name, ...args] = call.args.slice(index);
  if (name === undefined) {
    write(call.io.out, environment(vars), call.runtime);
    return 0;
  }
  return yield* runNamed(name, args, { ...call, state: { ...call.state, vars } });
}

function printenv(call: Call): number {
  if (call.args.length === 0) {
    write(call.io.out, environment(call.state.vars), call.runtime);
    return 0;
  }
  let status = 0;
  for (const name of call.args) {
    const value = call.state.vars.get(name);
    if (value === undefined) status = 1;
    else write(call.io.out, `${value}\n`, call.runtime);
  }
  return status;
}

function listDirectory(path: string, context: ShellContext): string[] {
  const children = new Set<string>();
  for (const entry of [...context.directories, ...context.files.keys()]) {
    if (entry !== path && posix.dirname(entry) === path) children.add(posix.basename(entry));
  }
  return [...children].sort();
}

/** ls [-flags] [PATH...]: names only (flags are accepted and ignored). */
function ls(call: Call): number {
  const paths = call.args.filter((arg) => !arg.startsWith('-'));
  const { context } = call.runtime;
  let status = 0;
  for (const target of paths.length === 0 ? ['.'] : paths) {
    const path = resolvePath(call.state.cwd, target);
    if (context.files.has(path)) write(call.io.out, `${target}\n`, call.runtime);
    else if (!context.directories.has(path)) {
      write(call.io.err, `ls: ${target}: No such file or directory\n`, call.runtime);
      status = 1;
    } else {
      const children = listDirectory(path, context);
      write(call.io.out, children.length > 0 ? `${children.join('\n')}\n` : '', call.runtime);
    }
  }
  return status;
}

function printLine(call: Call, text: string): number {
  write(call.io.out, `${text}\n`, call.runtime);
  return 0;
}

function cd(call: Call): number {
  const target = call.args[0] ?? call.state.vars.get('HOME') ?? '/';
  const path = resolvePath(call.state.cwd, target);
  if (!call.runtime.context.directories.has(path)) {
    write(call.io.err, `sh: cd: can't cd to ${target}: No such file or directory\n`, call.runtime);
    return 1;
  }
  call.state.cwd = path;
  call.state.vars.set('PWD', path);
  return 0;
}

function exportVariables(call: Call): number {
  for (const arg of call.args) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      write(call.io.err, `sh: export: ${arg}: bad variable name\n`, call.runtime);
      return 1;
    }
    if (match[2] !== undefined) call.state.vars.set(match[1] ?? '', match[2]);
  }
  return 0;
}

/** POSIX `command name args...`: runs the program (there are no functions to bypass); `-p`/`-v` are not emulated. */
function* commandBuiltin(call: Call): ShellRun {
  const [name, ...args] = call.args;
  if (name === undefined) return 0;
  if (name.startsWith('-')) {
    write(call.io.err, `sh: command: ${name}: option not emulated\n`, call.runtime);
    return 2;
  }
  return yield* runNamed(name, args, call);
}

const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  ['true', () => 0],
  ['command', commandBuiltin],
  [':', () => 0],
  ['false', () => 1],
  ['echo', echo],
  ['printf', printfCommand],
  ['cat', cat],
  ['sleep', sleep],
  ['exit', exit],
  ['stty', stty],
  ['env', env],
  ['printenv', printenv],
  ['ls', ls],
  ['pwd', (call) => printLine(call, call.state.cwd)],
  ['hostname', (call) => printLine(call, call.runtime.context.hostname)],
  ['cd', cd],
  ['export', exportVariables],
  [
    'unset',
    (call) => {
      for (const name of call.args) call.state.vars.delete(name);
      return 0;
    },
  ],
  ...SHELL_NAMES.map((name): [string, Builtin] => [name, sh]),
]);

/** Whether `command` (as ACI's exec API passes it) starts a shell. */
export function isShellCommand(command: string): boolean {
  return lookupBuiltin(command) === sh;
}

/** How the container runtime refuses a command it cannot start (wording unconfirmed: runc's). */
function startFailure(command: string): string {
  const reason = command.includes('/')
    ? `stat ${command}: no such file or directory`
    : 'executable file not found in $PATH';
  return `OCI runtime exec failed: exec failed: unable to start container process: exec: "${command}": ${reason}: unknown\n`;
}

/** The session's own process: stdio on the terminal, the container's environment, cwd `/`. */
function topLevelScope(name: string, runtime: ShellRuntime): Scope {
  return {
    state: {
      vars: new Map(Object.entries(runtime.context.env)),
      name,
      positional: [],
      status: 0,
      substitutionStatus: undefined,
      cwd: '/',
      depth: 0,
    },
    io: { in: { kind: 'tty' }, out: { kind: 'tty' }, err: { kind: 'tty' } },
    runtime,
  };
}

function* topLevel(scope: Scope, body: ShellRun): ShellRun {
  try {
    return yield* guarded(scope, body);
  } catch (error) {
    if (error instanceof ExitSignal) return error.status;
    throw error;
  }
}

/**
 * What an exec session runs. ACI passes no arguments: the whole string names the program, so a string
 * with a blank in it names no program (unconfirmed, per ACI's docs "you can't pass command arguments").
 * An image without a shell (`hasShell: false`) has none of the built-in programs either.
 */
export function* execProgram(command: string, runtime: ShellRuntime, image: { hasShell: boolean }): ShellRun {
  const scope = topLevelScope(command, runtime);
  if (!image.hasShell || /\s/.test(command) || lookupBuiltin(command) === undefined) {
    write(scope.io.err, startFailure(command), runtime);
    return 126;
  }
  return yield* topLevel(scope, runNamed(command, [], scope));
}

/** Runs `text` as one command line of a shell whose stdio is the terminal: for tests. */
export function runShellText(text: string, runtime: ShellRuntime): ShellRun {
  const scope = topLevelScope('sh', runtime);
  return topLevel(scope, runText(text, scope));
}
