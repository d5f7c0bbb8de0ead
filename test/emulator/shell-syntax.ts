// The POSIX shell grammar the emulated `sh` understands, parsed in one pass (linear in the text): words
// with '…', "…" ($VAR ${VAR} $? $(…) `…` and \ escapes inside), \ escapes, $VAR ${VAR} $? $# $@ $* $0-$9
// $$, $(…) and `…`, comments, NAME=value, ; && || | and newlines, and the redirections < > >> >& <&
// with an optional fd number. Not emulated (a syntax error says so): ( ) subshells, & background jobs,
// $(( )) arithmetic, ${VAR…} modifiers. Keywords (if, for, while…) are not special. Pure.

export type WordPart =
  | { kind: 'text'; text: string; quoted: boolean }
  | { kind: 'param'; name: string; quoted: boolean }
  | { kind: 'command'; script: Script; quoted: boolean };

export interface Word {
  parts: WordPart[];
}

export type RedirectOp = '<' | '>' | '>>' | '>&' | '<&';

export interface Redirect {
  fd: number;
  op: RedirectOp;
  target: Word;
}

export interface Assignment {
  name: string;
  value: Word;
}

export interface SimpleCommand {
  assignments: Assignment[];
  words: Word[];
  redirects: Redirect[];
}

export interface Pipeline {
  commands: SimpleCommand[];
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

export type Script = AndOr[];

export class ShellSyntaxError extends Error {}

/** How deeply $( ) and ` ` may nest: bounds the recursion hostile input can cause. */
export const MAX_NESTING = 32;

const BLANK = new Set([' ', '\t']);
/** Characters that end an unquoted word. */
const META = new Set([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')']);
const SPECIAL_PARAMS = new Set(['?', '#', '@', '*', '$', '!', '-', '0']);
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;
/** Characters a backslash escapes inside double quotes; before others it stays. */
const DOUBLE_QUOTE_ESCAPES = new Set(['$', '`', '"', '\\', '\n']);

/** Parses a whole script; throws ShellSyntaxError with a message in busybox's words. */
export function parseScript(text: string): Script {
  const parser = new Parser(text, 0);
  const script = parser.script(false);
  parser.expectEnd();
  return script;
}

function describe(char: string | undefined): string {
  if (char === undefined) return 'end of file';
  return char === '\n' ? 'newline' : `"${char}"`;
}

class Parser {
  private pos = 0;
  private readonly text: string;
  private readonly depth: number;

  constructor(text: string, depth: number) {
    if (depth > MAX_NESTING) throw new ShellSyntaxError('syntax error: substitutions nested too deeply');
    this.text = text;
    this.depth = depth;
  }

  private peek(offset = 0): string | undefined {
    return this.text[this.pos + offset];
  }

  private unexpected(): ShellSyntaxError {
    return new ShellSyntaxError(`syntax error: unexpected ${describe(this.peek())}`);
  }

  expectEnd(): void {
    if (this.peek() !== undefined) throw this.unexpected();
  }

  /** Blanks, a comment, and a backslash-newline (line continuation) between tokens. */
  private skipBlanks(): void {
    for (;;) {
      const char = this.peek();
      if (char !== undefined && BLANK.has(char)) this.pos++;
      else if (char === '\\' && this.peek(1) === '\n') this.pos += 2;
      else if (char === '#') {
        while (this.peek() !== undefined && this.peek() !== '\n') this.pos++;
      } else return;
    }
  }

  private skipLinebreaks(): void {
    this.skipBlanks();
    while (this.peek() === '\n') {
      this.pos++;
      this.skipBlanks();
    }
  }

  /** A list of and-or lists; `nested` stops before the `)` closing a $( ). */
  script(nested: boolean): Script {
    const items: Script = [];
    for (;;) {
      this.skipLinebreaks();
      const start = this.peek();
      if (start === undefined || (nested && start === ')')) return items;
      items.push(this.andOr());
      this.skipBlanks();
      const next = this.peek();
      if (next === ';' || next === '\n') this.pos++;
      else if (next === '&') throw new ShellSyntaxError('syntax error: background jobs (&) are not emulated');
      else if (next !== undefined && !(nested && next === ')')) throw this.unexpected();
    }
  }

  private andOr(): AndOr {
    const item: AndOr = { first: this.pipeline(), rest: [] };
    for (;;) {
      this.skipBlanks();
      const op = this.text.slice(this.pos, this.pos + 2);
      if (op !== '&&' && op !== '||') return item;
      this.pos += 2;
      this.skipLinebreaks();
      item.rest.push({ op, pipeline: this.pipeline() });
    }
  }

  private pipeline(): Pipeline {
    const commands = [this.command()];
    for (;;) {
      this.skipBlanks();
      if (this.peek() !== '|' || this.peek(1) === '|') return { commands };
      this.pos++;
      this.skipLinebreaks();
      commands.push(this.command());
    }
  }

  private command(): SimpleCommand {
    const command: SimpleCommand = { assignments: [], words: [], redirects: [] };
    for (;;) {
      this.skipBlanks();
      const char = this.peek();
      if (char === undefined || META.has(char)) {
        if (char === '<' || char === '>') {
          command.redirects.push(this.redirect(char === '<' ? 0 : 1));
          continue;
        }
        if (char === '(') throw new ShellSyntaxError('syntax error: subshells ( ) are not emulated');
        if (command.words.length + command.assignments.length + command.redirects.length === 0) {
          throw this.unexpected();
        }
        return command;
      }
      const fd = this.ioNumber();
      if (fd !== undefined) command.redirects.push(this.redirect(fd));
      else this.addWord(command, this.word());
    }
  }

  private addWord(command: SimpleCommand, word: Word): void {
    const first = word.parts[0];
    const match = first?.kind === 'text' && !first.quoted ? ASSIGNMENT.exec(first.text) : null;
    if (match?.[1] === undefined || command.words.length > 0 || first?.kind !== 'text') {
      command.words.push(word);
      return;
    }
    const rest = first.text.slice(match[0].length);
    const parts = rest === '' ? word.parts.slice(1) : [{ ...first, text: rest }, ...word.parts.slice(1)];
    command.assignments.push({ name: match[1], value: { parts } });
  }

  /** Digits directly followed by < or >: the fd a redirection applies to. */
  private ioNumber(): number | undefined {
    let end = this.pos;
    while (end - this.pos < 4 && /[0-9]/.test(this.text[end] ?? '')) end++;
    const after = this.text[end];
    if (end === this.pos || (after !== '<' && after !== '>')) return undefined;
    const fd = Number(this.text.slice(this.pos, end));
    this.pos = end;
    return fd;
  }

  private redirect(fd: number): Redirect {
    const first = this.peek();
    const second = this.peek(1);
    let op: RedirectOp = first === '<' ? '<' : '>';
    this.pos++;
    if (second === '&') op = first === '<' ? '<&' : '>&';
    else if (first === '>' && second === '>') op = '>>';
    if (op !== '<' && op !== '>') this.pos++;
    else if (first === '>' && second === '|') this.pos++;
    this.skipBlanks();
    const target = this.word();
    if (target.parts.length === 0) throw this.unexpected();
    return { fd, op, target };
  }

  /** One word: everything up to an unquoted metacharacter. */
  private word(): Word {
    const parts: WordPart[] = [];
    for (;;) {
      const char = this.peek();
      if (char === undefined || META.has(char)) return { parts };
      this.pos++;
      if (char === "'") this.singleQuoted(parts);
      else if (char === '"') this.doubleQuoted(parts);
      else if (char === '$') this.dollar(parts, false);
      else if (char === '`') this.backquoted(parts, false);
      else if (char === '\\') this.escaped(parts);
      else appendText(parts, char, false);
    }
  }

  private escaped(parts: WordPart[]): void {
    const next = this.peek();
    if (next === undefined) {
      appendText(parts, '\\', false);
      return;
    }
    this.pos++;
    if (next !== '\n') appendText(parts, next, true);
  }

  private singleQuoted(parts: WordPart[]): void {
    const end = this.text.indexOf("'", this.pos);
    if (end < 0) throw new ShellSyntaxError('syntax error: unterminated quoted string');
    appendText(parts, this.text.slice(this.pos, end), true);
    this.pos = end + 1;
  }

  private doubleQuoted(parts: WordPart[]): void {
    // An empty "" is still a word.
    appendText(parts, '', true);
    for (;;) {
      const char = this.peek();
      if (char === undefined) throw new ShellSyntaxError('syntax error: unterminated quoted string');
      this.pos++;
      if (char === '"') return;
      if (char === '$') this.dollar(parts, true);
      else if (char === '`') this.backquoted(parts, true);
      else if (char === '\\' && DOUBLE_QUOTE_ESCAPES.has(this.peek() ?? '')) {
        const next = this.peek() ?? '';
        this.pos++;
        if (next !== '\n') appendText(parts, next, true);
      } else appendText(parts, char, true);
    }
  }

  /** After a `$`: a parameter, ${NAME}, $( ), or a plain dollar sign. */
  private dollar(parts: WordPart[], quoted: boolean): void {
    const char = this.peek();
    if (char === '(') {
      this.pos++;
      if (this.peek() === '(') throw new ShellSyntaxError('syntax error: $(( )) arithmetic is not emulated');
      parts.push({ kind: 'command', script: this.substitution(), quoted });
    } else if (char === '{') {
      this.pos++;
      parts.push({ kind: 'param', name: this.bracedName(), quoted });
    } else if (char !== undefined && (SPECIAL_PARAMS.has(char) || /[1-9]/.test(char))) {
      this.pos++;
      parts.push({ kind: 'param', name: char, quoted });
    } else if (char !== undefined && NAME_START.test(char)) {
      const start = this.pos;
      while (NAME_CHAR.test(this.peek() ?? '')) this.pos++;
      parts.push({ kind: 'param', name: this.text.slice(start, this.pos), quoted });
    } else appendText(parts, '$', quoted);
  }

  private substitution(): Script {
    const inner = new Parser(this.text, this.depth + 1);
    inner.pos = this.pos;
    const script = inner.script(true);
    if (inner.peek() !== ')') throw new ShellSyntaxError('syntax error: unterminated $( )');
    this.pos = inner.pos + 1;
    return script;
  }

  private bracedName(): string {
    const end = this.text.indexOf('}', this.pos);
    if (end < 0) throw new ShellSyntaxError('syntax error: missing }');
    const name = this.text.slice(this.pos, end);
    const valid = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[?#@*$!-])$/.test(name);
    if (!valid) throw new ShellSyntaxError('syntax error: bad substitution');
    this.pos = end + 1;
    return name;
  }

  /** `…`: the text up to the closing backquote, with \` \\ \$ (and \" inside "…") unescaped, parsed as a script. */
  private backquoted(parts: WordPart[], inDoubleQuotes: boolean): void {
    let inner = '';
    for (;;) {
      const char = this.peek();
      if (char === undefined) throw new ShellSyntaxError('syntax error: unterminated `');
      this.pos++;
      if (char === '`') break;
      const next = this.peek();
      if (
        char === '\\' &&
        (next === '`' || next === '\\' || next === '$' || (inDoubleQuotes && next === '"'))
      ) {
        inner += next;
        this.pos++;
      } else inner += char;
    }
    const parser = new Parser(inner, this.depth + 1);
    const script = parser.script(false);
    parser.expectEnd();
    parts.push({ kind: 'command', script, quoted: inDoubleQuotes });
  }
}

function appendText(parts: WordPart[], text: string, quoted: boolean): void {
  const last = parts.at(-1);
  if (last?.kind === 'text' && last.quoted === quoted) last.text += text;
  else parts.push({ kind: 'text', text, quoted });
}

type Context = "'" | '"' | '`' | '$(';

/**
 * Decides, a line at a time, whether what an interactive shell has read so far is a complete command
 * or it must read on (open quote, open $( or `, a trailing \, &&, || or |), as sh does with its PS2
 * prompt. Incremental: each character is looked at once however many lines a command spans.
 */
export class CommandCompleteness {
  private stack: Context[] = [];
  private escaped = false;
  private comment = false;
  private wordStart = true;
  /** The last operator at the top level was | && or ||: a newline does not end the command. */
  private continues = false;
  private previous = '';

  reset(): void {
    this.stack = [];
    this.escaped = false;
    this.comment = false;
    this.wordStart = true;
    this.continues = false;
    this.previous = '';
  }

  /** Feeds text (usually a line with its newline); true when the command read so far is complete. */
  feed(text: string): boolean {
    let complete = false;
    for (const char of text) complete = this.step(char);
    return complete;
  }

  private step(char: string): boolean {
    const previous = this.previous;
    this.previous = char;
    if (this.comment && char !== '\n') return false;
    this.comment = false;
    if (this.escaped) {
      this.escaped = false;
      this.previous = '';
      this.wordStart = false;
      return false;
    }
    const context = this.stack.at(-1);
    if (context === "'") {
      if (char === "'") this.stack.pop();
      return false;
    }
    if (char === '\\') {
      this.escaped = true;
      return false;
    }
    if (context === '`') {
      if (char === '`') this.stack.pop();
      return false;
    }
    if (char === '(' && previous === '$') {
      this.stack.push('$(');
      return false;
    }
    if (context === '"') {
      if (char === '"') this.stack.pop();
      else if (char === '`') this.stack.push('`');
      return false;
    }
    return this.stepCode(char, previous);
  }

  /** A character of shell code (top level or inside $( )). */
  private stepCode(char: string, previous: string): boolean {
    const wordStart = this.wordStart;
    this.wordStart = META.has(char);
    if (char === "'" || char === '"' || char === '`') this.stack.push(char);
    else if (char === ')' && this.stack.at(-1) === '$(') this.stack.pop();
    else if (char === '#' && wordStart) this.comment = true;
    if (char === '\n') return this.stack.length === 0 && !this.continues;
    if (BLANK.has(char)) return false;
    this.continues = char === '|' || (char === '&' && previous === '&');
    return false;
  }
}
