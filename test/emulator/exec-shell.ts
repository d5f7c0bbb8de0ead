// The built-in command set of an exec session, enough for tests: echo (with $VAR), env, printenv,
// cat and ls of the group's mounted volumes, pwd, hostname, true, false, exit. Pure.
import { posix } from 'node:path';
import { splitWords } from './behaviour.ts';
import type { ContainerSpec, VolumeSpec } from './spec.ts';

export interface ShellContext {
  hostname: string;
  env: Record<string, string>;
  /** Directories that exist (mount paths and their parents, and /). */
  directories: ReadonlySet<string>;
  /** Absolute path -> content. */
  files: ReadonlyMap<string, string>;
}

export interface ShellResult {
  output: string;
  /** Set when the session ends (exit, or a one-shot command finished). */
  exitCode?: number;
}

/** The filesystem and environment a container sees: its env (secure values too) and mounted volumes. */
export function shellContext(
  container: ContainerSpec,
  volumes: readonly VolumeSpec[],
  hostname: string,
): ShellContext {
  const env = Object.fromEntries(
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
  return { hostname, env: { HOSTNAME: hostname, ...env }, directories, files };
}

/** `/etc/app/` and `/etc//app` are `/etc/app`. */
function normalize(path: string): string {
  const normalized = posix.normalize(posix.isAbsolute(path) ? path : `/${path}`);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

function expand(word: string, env: Record<string, string>): string {
  return word.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_match, name: string) => env[name] ?? '');
}

function listDirectory(path: string, context: ShellContext): string[] {
  const children = new Set<string>();
  for (const entry of [...context.directories, ...context.files.keys()]) {
    if (entry !== path && posix.dirname(entry) === path) children.add(posix.basename(entry));
  }
  return [...children].sort();
}

function ls(paths: string[], context: ShellContext): ShellResult {
  const targets = paths.length === 0 ? ['/'] : paths;
  const output = targets.map((target) => {
    const path = normalize(target);
    if (context.files.has(path)) return `${target}\n`;
    if (!context.directories.has(path)) return `ls: ${target}: No such file or directory\n`;
    const children = listDirectory(path, context);
    return children.length > 0 ? `${children.join('\n')}\n` : '';
  });
  return { output: output.join('') };
}

function cat(paths: string[], context: ShellContext): ShellResult {
  const output = paths.map((target) => {
    const path = normalize(target);
    const content = context.files.get(path);
    if (content !== undefined) return content;
    return context.directories.has(path)
      ? `cat: ${target}: Is a directory\n`
      : `cat: ${target}: No such file or directory\n`;
  });
  return { output: output.join('') };
}

function env(context: ShellContext): string {
  return Object.entries(context.env)
    .map(([name, value]) => `${name}=${value}\n`)
    .join('');
}

type Builtin = (args: string[], context: ShellContext) => ShellResult;

const BUILTINS: Record<string, Builtin> = {
  '': () => ({ output: '' }),
  true: () => ({ output: '' }),
  false: () => ({ output: '' }),
  echo: (args) => ({ output: `${args.join(' ')}\n` }),
  env: (_args, context) => ({ output: env(context) }),
  printenv: (args, context) => ({
    output: args.length === 0 ? env(context) : args.map((name) => `${context.env[name] ?? ''}\n`).join(''),
  }),
  cat,
  ls,
  pwd: () => ({ output: '/\n' }),
  hostname: (_args, context) => ({ output: `${context.hostname}\n` }),
  exit: (args) => ({ output: '', exitCode: Number.parseInt(args[0] ?? '0', 10) || 0 }),
};

/** Runs one command line. */
export function runCommandLine(line: string, context: ShellContext): ShellResult {
  const [command = '', ...args] = splitWords(line.trim()).map((word) => expand(word, context.env));
  const builtin = Object.hasOwn(BUILTINS, command) ? BUILTINS[command] : undefined;
  return builtin ? builtin(args, context) : { output: `sh: ${command}: not found\n` };
}
