// POSIX printf(1) for the emulated shell: the format's escapes (\n \t \\ \NNN octal…), conversions
// %s %b %c %d %i %u %o %x %X %f %% with the flags - 0 + space and a width and precision, and the format
// reused until the arguments run out. Pure.

export interface PrintfResult {
  output: string;
  /** Messages for stderr; the exit status is 1 when there are any. */
  errors: string[];
}

/** Widths and precisions past this are refused rather than padded (a guard against huge output). */
export const MAX_PRINTF_WIDTH = 1 << 16;

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '"': '"',
  "'": "'",
};

const CONVERSION = /%([-+ 0#]*)(\d*)(?:\.(\d*))?([a-zA-Z%])?/y;

interface Escaped {
  text: string;
  /** `\c` in a %b argument: no further output at all. */
  stop: boolean;
}

/**
 * Decodes backslash escapes: in a format `\NNN` is 1-3 octal digits; in a %b argument (and echo -e)
 * it is `\0NNN`, and `\c` stops the output.
 */
export function decodeEscapes(text: string, mode: 'format' | 'argument'): Escaped {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const slash = text.indexOf('\\', index);
    if (slash < 0 || slash === text.length - 1) {
      out += text.slice(index);
      break;
    }
    out += text.slice(index, slash);
    const next = text[slash + 1] ?? '';
    index = slash + 2;
    if (mode === 'argument' && next === 'c') return { text: out, stop: true };
    const octal = /[0-7]/.test(next) && (mode === 'format' || next === '0');
    if (octal) {
      const start = mode === 'format' ? slash + 1 : slash + 2;
      const digits = /^[0-7]{0,3}/.exec(text.slice(start, start + 3))?.[0] ?? '';
      out += String.fromCharCode(Number.parseInt(digits || '0', 8) & 0xff);
      index = start + digits.length;
    } else out += SIMPLE_ESCAPES[next] ?? `\\${next}`;
  }
  return { text: out, stop: false };
}

interface Spec {
  flags: string;
  width: number;
  precision: number | undefined;
}

function pad(text: string, spec: Spec, numeric: boolean): string {
  if (text.length >= spec.width) return text;
  if (spec.flags.includes('-')) return text.padEnd(spec.width);
  if (numeric && spec.flags.includes('0') && spec.precision === undefined) {
    const sign = /^[+\- ]/.test(text) ? (text[0] ?? '') : '';
    return sign + text.slice(sign.length).padStart(spec.width - sign.length, '0');
  }
  return text.padStart(spec.width);
}

/** An integer argument: decimal, 0x hex, 0 octal, or 'c / "c for a character's code. */
function parseInteger(arg: string, errors: string[]): bigint {
  const trimmed = arg.trim();
  if (trimmed === '') return 0n;
  if (trimmed.startsWith("'") || trimmed.startsWith('"')) return BigInt(trimmed.codePointAt(1) ?? 0);
  const sign = trimmed.startsWith('-') ? -1n : 1n;
  const body = trimmed.replace(/^[+-]/, '');
  const valid = /^(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(body);
  if (!valid || body.length > 40) {
    errors.push(`printf: invalid number '${arg}'\n`);
    return 0n;
  }
  const value = /^0[0-7]+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  return sign * value;
}

function signed(text: string, negative: boolean, flags: string): string {
  if (negative) return `-${text}`;
  if (flags.includes('+')) return `+${text}`;
  return flags.includes(' ') ? ` ${text}` : text;
}

function formatInteger(conversion: string, arg: string, spec: Spec, errors: string[]): string {
  const value = parseInteger(arg, errors);
  const negative = value < 0n && (conversion === 'd' || conversion === 'i');
  const magnitude = negative ? -value : value < 0n ? (1n << 64n) + value : value;
  const radix = conversion === 'o' ? 8 : conversion === 'x' || conversion === 'X' ? 16 : 10;
  let digits = magnitude.toString(radix);
  if (conversion === 'X') digits = digits.toUpperCase();
  if (spec.precision !== undefined) digits = digits.padStart(spec.precision, '0');
  const text = radix === 10 ? signed(digits, negative, spec.flags) : digits;
  return pad(text, spec, true);
}

function formatFloat(arg: string, spec: Spec, errors: string[]): string {
  const value = arg.trim() === '' ? 0 : Number(arg);
  if (Number.isNaN(value)) errors.push(`printf: invalid number '${arg}'\n`);
  const number = Number.isNaN(value) ? 0 : value;
  const text = Math.abs(number).toFixed(Math.min(spec.precision ?? 6, 100));
  return pad(signed(text, number < 0, spec.flags), spec, true);
}

/** One conversion with its argument (or none: "" / 0). */
function convert(conversion: string, arg: string | undefined, spec: Spec, errors: string[]): Escaped {
  const value = arg ?? '';
  switch (conversion) {
    case 's':
      return { text: pad(value.slice(0, spec.precision), spec, false), stop: false };
    case 'b': {
      const decoded = decodeEscapes(value, 'argument');
      return { text: pad(decoded.text.slice(0, spec.precision), spec, false), stop: decoded.stop };
    }
    case 'c':
      return { text: pad(value.slice(0, 1), spec, false), stop: false };
    case 'f':
    case 'F':
      return { text: formatFloat(value, spec, errors), stop: false };
    default:
      return { text: formatInteger(conversion, value, spec, errors), stop: false };
  }
}

const CONVERSIONS = new Set(['s', 'b', 'c', 'd', 'i', 'u', 'o', 'x', 'X', 'f', 'F']);

interface Pass {
  output: string;
  consumed: number;
  /** Output must end here (\c, or a bad directive). */
  stop: boolean;
}

/** The directive at `percent`: its length and spec, or an error that ends the output. */
function directive(
  format: string,
  percent: number,
): { length: number; conversion: string; spec: Spec } | { length: number; error: string } {
  CONVERSION.lastIndex = percent;
  const [whole = '%', flags = '', width = '', precision, conversion] = CONVERSION.exec(format) ?? [];
  if (conversion === undefined || (conversion !== '%' && !CONVERSIONS.has(conversion))) {
    return { length: whole.length, error: `printf: %${conversion ?? ''}: invalid directive\n` };
  }
  const spec = {
    flags,
    width: Number(width || 0),
    precision: precision === undefined ? undefined : Number(precision || 0),
  };
  if (spec.width > MAX_PRINTF_WIDTH || (spec.precision ?? 0) > MAX_PRINTF_WIDTH) {
    return { length: whole.length, error: 'printf: width or precision too large (emulator limit)\n' };
  }
  return { length: whole.length, conversion, spec };
}

/** One pass over the format, taking arguments from `args[start]` on. */
function formatOnce(format: string, args: readonly string[], start: number, errors: string[]): Pass {
  let output = '';
  let next = start;
  let index = 0;
  while (index < format.length) {
    const percent = format.indexOf('%', index);
    output += decodeEscapes(format.slice(index, percent < 0 ? format.length : percent), 'format').text;
    if (percent < 0) break;
    const found = directive(format, percent);
    index = percent + found.length;
    if ('error' in found) {
      errors.push(found.error);
      return { output, consumed: next - start, stop: true };
    }
    if (found.conversion === '%') {
      output += '%';
      continue;
    }
    const converted = convert(found.conversion, args[next], found.spec, errors);
    next += 1;
    output += converted.text;
    if (converted.stop) return { output, consumed: next - start, stop: true };
  }
  return { output, consumed: next - start, stop: false };
}

/** printf FORMAT [ARG...]: the format is reused while arguments remain (POSIX). */
export function printf(format: string, args: readonly string[]): PrintfResult {
  const errors: string[] = [];
  let output = '';
  let start = 0;
  for (;;) {
    const pass = formatOnce(format, args, start, errors);
    output += pass.output;
    start += pass.consumed;
    if (pass.stop || pass.consumed === 0 || start >= args.length) return { output, errors };
  }
}
