// What a container "does" in the emulator, decided from its image name or its command (documented in
// docs/emulator.md). Pure: the lifecycle module plays the program against the clock.

/** A line the container prints `atMs` after it starts. */
export interface LogLine {
  atMs: number;
  text: string;
}

/** What one run of a container does; without `exit` it runs until stopped. */
export interface Program {
  lines: LogLine[];
  exit?: { atMs: number; code: number };
}

export type Behaviour =
  | { kind: 'run'; program: Program }
  /** The image cannot be pulled once provisioning starts: the operation fails with InaccessibleImage. */
  | { kind: 'pull-fail' }
  /** The region has no capacity: the operation fails with InsufficientCapacity. */
  | { kind: 'no-capacity' }
  /**
   * An Azure Files share it mounts cannot be mounted (storage.ts): provisioning succeeds, the
   * container stays Waiting with FailedMountAzureFileVolume events.
   */
  | { kind: 'mount-fail' };

export interface ContainerDefinition {
  name: string;
  image: string;
  command: string[];
}

/** Images containing this are refused at PUT time, as Azure refuses an image it cannot find. */
export const MISSING_IMAGE_MARKER = 'does-not-exist';

const SCRIPTED_IMAGE = /(?:^|\/)aci-burst\/([a-z-]+)(?::([^?]*))?(?:\?(.*))?$/;
/** Commands that start a shell: scripted with `-c`, interactive in exec. */
export const SHELLS: ReadonlySet<string> = new Set([
  'sh',
  'bash',
  'ash',
  '/bin/sh',
  '/bin/bash',
  '/bin/ash',
  '/usr/bin/bash',
]);

export function isMissingImage(image: string): boolean {
  return image.includes(MISSING_IMAGE_MARKER);
}

/**
 * Whether exec finds programs in the image: not in a distroless image (no shell, no coreutils) nor in
 * the scripted `aci-burst/no-shell`.
 */
export function hasShell(image: string): boolean {
  return !image.includes('distroless') && SCRIPTED_IMAGE.exec(image)?.[1] !== 'no-shell';
}

/** Parses `500ms`, `2s`, `1.5s`, `1m`, or a bare number of seconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000));
}

export function behaviourFor(container: ContainerDefinition): Behaviour {
  const scripted = SCRIPTED_IMAGE.exec(container.image);
  if (scripted) {
    const fromImage = scriptedImageBehaviour(
      scripted[1] ?? '',
      scripted[2],
      new URLSearchParams(scripted[3] ?? ''),
    );
    if (fromImage) return fromImage;
  }
  const fromCommand = commandProgram(container.command);
  return { kind: 'run', program: fromCommand ?? defaultProgram(container) };
}

function scriptedImageBehaviour(
  kind: string,
  argument: string | undefined,
  params: URLSearchParams,
): Behaviour | undefined {
  const lines = params.getAll('log').map((text) => ({ atMs: 0, text }));
  const afterMs = parseDuration(params.get('after') ?? '0') ?? 0;
  switch (kind) {
    case 'exit':
      return { kind: 'run', program: { lines, exit: { atMs: afterMs, code: exitCode(argument, 0) } } };
    case 'crash':
      // A crash loop is a non-zero exit under restart policy Always or OnFailure; 100 ms keeps tests quick.
      return {
        kind: 'run',
        program: { lines, exit: { atMs: params.has('after') ? afterMs : 100, code: exitCode(argument, 1) } },
      };
    case 'run':
    case 'no-shell':
      return { kind: 'run', program: { lines } };
    case 'pull-fail':
      return { kind: 'pull-fail' };
    case 'no-capacity':
      return { kind: 'no-capacity' };
    default:
      return undefined;
  }
}

function exitCode(text: string | undefined, fallback: number): number {
  const code = Number(text);
  return text !== undefined && text !== '' && Number.isInteger(code) && code >= 0 && code <= 255
    ? code
    : fallback;
}

function defaultProgram(container: ContainerDefinition): Program {
  return {
    lines: [
      { atMs: 0, text: `container ${container.name} starting` },
      { atMs: 0, text: `image ${container.image}` },
      { atMs: 0, text: 'ready' },
    ],
  };
}

/**
 * A tiny shell: `sh -c "echo hi; sleep 2; exit 3"` (statements split on `;`, `&&` or newlines:
 * echo, sleep N|infinity, exit N, true, false), or the same statements as the command itself
 * (`["echo","hi"]`). Anything else is not understood: undefined, and the container runs forever.
 */
export function commandProgram(command: string[]): Program | undefined {
  if (command.length === 0) return undefined;
  const [first, second, third] = command;
  const script =
    first !== undefined && SHELLS.has(first) && second === '-c' && third !== undefined
      ? third
      : command.map(quoteWord).join(' ');
  return scriptProgram(script);
}

function quoteWord(word: string): string {
  return /\s/.test(word) ? `"${word}"` : word;
}

function scriptProgram(script: string): Program | undefined {
  const lines: LogLine[] = [];
  let clock = 0;
  for (const statement of script.split(/;|&&|\n/).map((part) => part.trim())) {
    if (statement === '') continue;
    const [verb = '', ...words] = splitWords(statement);
    if (verb === 'echo') lines.push({ atMs: clock, text: words.join(' ') });
    else if (verb === 'sleep' && words[0] === 'infinity') return { lines };
    else if (verb === 'sleep') {
      const ms = parseDuration(words[0] ?? '');
      if (ms === undefined) return undefined;
      clock += ms;
    } else if (verb === 'exit') return { lines, exit: { atMs: clock, code: exitCode(words[0], 0) } };
    else if (verb === 'false') return { lines, exit: { atMs: clock, code: 1 } };
    else if (verb !== 'true') return undefined;
  }
  return { lines, exit: { atMs: clock, code: 0 } };
}

/** Splits on blanks, keeping single- or double-quoted words whole (without the quotes). */
export function splitWords(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map(
    (match) => match[1] ?? match[2] ?? match[3] ?? '',
  );
}
