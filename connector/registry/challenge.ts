// `WWW-Authenticate` challenges (RFC 7235) as registries send them:
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//   Basic realm="Registry Realm"
// One pass over a bounded header: a scheme token starts a challenge, `name=value` or `name="quoted"`
// pairs (commas between them) are its parameters, and the next bare token starts another challenge.

export type Challenge =
  | { scheme: 'bearer'; realm: string; service: string | undefined; scope: string | undefined }
  | { scheme: 'basic' }
  | { scheme: 'other'; name: string };

const MAX_HEADER_LENGTH = 8192;
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const SPACE_OR_COMMA = /[\s,]*/y;
const SPACE = /\s*/y;

interface Raw {
  scheme: string;
  params: Map<string, string>;
}

function readToken(header: string, at: number): { text: string; end: number } | undefined {
  TOKEN.lastIndex = at;
  const match = TOKEN.exec(header);
  return match ? { text: match[0], end: TOKEN.lastIndex } : undefined;
}

/** The index after what `pattern` matches at `at` (nothing matched: `at`; a failed exec would reset to 0). */
function skip(pattern: RegExp, header: string, at: number): number {
  pattern.lastIndex = at;
  return pattern.exec(header) ? pattern.lastIndex : at;
}

/** A quoted string from its opening quote; backslash escapes the next character. */
function readQuoted(header: string, at: number): { text: string; end: number } {
  let text = '';
  let index = at + 1;
  while (index < header.length && header[index] !== '"') {
    if (header[index] === '\\') index += 1;
    text += header[index] ?? '';
    index += 1;
  }
  return { text, end: Math.min(index + 1, header.length) };
}

function readValue(header: string, at: number): { text: string; end: number } {
  if (header[at] === '"') return readQuoted(header, at);
  return readToken(header, at) ?? { text: '', end: at };
}

function rawChallenges(header: string): Raw[] {
  const challenges: Raw[] = [];
  let index = skip(SPACE_OR_COMMA, header, 0);
  while (index < header.length) {
    const token = readToken(header, index);
    if (!token) break;
    const afterToken = skip(SPACE, header, token.end);
    if (header[afterToken] === '=' && challenges.length > 0) {
      const value = readValue(header, skip(SPACE, header, afterToken + 1));
      challenges.at(-1)?.params.set(token.text.toLowerCase(), value.text);
      index = skip(SPACE_OR_COMMA, header, value.end);
    } else {
      challenges.push({ scheme: token.text.toLowerCase(), params: new Map() });
      index = skip(SPACE_OR_COMMA, header, token.end);
    }
  }
  return challenges;
}

/** Every challenge in the header, in order; an unreadable or oversized header gives none. */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (header === undefined || header.length > MAX_HEADER_LENGTH) return [];
  return rawChallenges(header).map(({ scheme, params }): Challenge => {
    const realm = params.get('realm');
    if (scheme === 'bearer' && realm !== undefined) {
      return { scheme, realm, service: params.get('service'), scope: params.get('scope') };
    }
    if (scheme === 'basic') return { scheme };
    return { scheme: 'other', name: scheme };
  });
}
