import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CrlfToLf,
  MAX_COMMAND_LINE_BYTES,
  quoteArgument,
  shellLine,
  ShellOutputParser,
  type ShellOutput,
} from './shell.ts';

const NONCE = '5f3a9c';
const RS = '\u001e';

describe('quoteArgument', () => {
  const cases: [string, string][] = [
    ['plain', `'plain'`],
    ['', `''`],
    [`it's`, `'it'\\''s'`],
    ['$(id) `id` $HOME', `'$(id) \`id\` $HOME'`],
    ['a;b && c | d', `'a;b && c | d'`],
    ['two\nlines', `'two\nlines'`],
    [`"double"`, `'"double"'`],
  ];
  for (const [argument, quoted] of cases) {
    it(`quotes ${JSON.stringify(argument)}`, () => {
      assert.equal(quoteArgument(argument), quoted);
    });
  }
});

describe('shellLine', () => {
  it('wraps the quoted command between the markers, reading /dev/null without stdin', () => {
    const result = shellLine(['sh', '-c', 'echo out; exit 3'], { stdin: false, tty: false, nonce: NONCE });
    assert.deepEqual(result, {
      ok: true,
      line:
        `stty -echo -onlcr 2>/dev/null; printf '\\036%sB\\036\\n' ${NONCE}; ` +
        `'sh' '-c' 'echo out; exit 3' </dev/null; printf '\\036%sE%d\\036\\n' ${NONCE} $?; exit\n`,
    });
  });

  it('keeps stdin and restores the terminal for -it', () => {
    const result = shellLine(['cat'], { stdin: true, tty: true, nonce: NONCE });
    assert.ok(result.ok);
    assert.match(result.line, /; stty echo onlcr 2>\/dev\/null; 'cat'; printf/);
    assert.doesNotMatch(result.line, /\/dev\/null; printf '\\\\036%sE/);
  });

  it('never lets the echo of its own line contain a marker', () => {
    const result = shellLine(['echo', 'x'], { stdin: false, tty: false, nonce: NONCE });
    assert.ok(result.ok);
    assert.ok(!result.line.includes(RS));
  });

  const refusals: [string, string[], RegExp][] = [
    ['a control character the terminal would act on', ['echo', 'a\u0003b'], /argument 1 .* 0x03/],
    ['DEL', ['echo', '\u007f'], /0x7f/],
    ['a line longer than a terminal takes', ['echo', 'x'.repeat(MAX_COMMAND_LINE_BYTES)], /at most 4000/],
  ];
  for (const [name, argv, message] of refusals) {
    it(`refuses ${name}`, () => {
      const result = shellLine(argv, { stdin: false, tty: false, nonce: NONCE });
      assert.ok(!result.ok);
      assert.match(result.message, message);
    });
  }
});

function parseAll(chunks: string[]): { output: string; exit: number | undefined; before: string } {
  const parser = new ShellOutputParser(NONCE);
  const results: ShellOutput[] = chunks.flatMap((chunk) => parser.push(Buffer.from(chunk, 'latin1')));
  return {
    output: results
      .filter((result) => result.kind === 'output')
      .map((result) => result.data.toString('latin1'))
      .join(''),
    exit: results.find((result) => result.kind === 'exit')?.code,
    before: parser.beforeStart,
  };
}

describe('ShellOutputParser', () => {
  const session = `/ # stty -echo ...\r\n${RS}${NONCE}B${RS}\nout\nerr\n${RS}${NONCE}E3${RS}\n`;

  it('drops the prompt and echo, returns the output and the exit status', () => {
    assert.deepEqual(parseAll([session]), {
      output: 'out\nerr\n',
      exit: 3,
      before: '/ # stty -echo ...\r\n',
    });
  });

  it('gives the same answer whatever the chunk boundaries', () => {
    for (let split = 0; split <= session.length; split++) {
      const result = parseAll([session.slice(0, split), session.slice(split)]);
      assert.equal(result.output, 'out\nerr\n', `split at ${split}`);
      assert.equal(result.exit, 3, `split at ${split}`);
    }
    const byteByByte = parseAll([...session]);
    assert.equal(byteByByte.output, 'out\nerr\n');
    assert.equal(byteByByte.exit, 3);
  });

  it('passes on a record separator that is not the marker', () => {
    const result = parseAll([`${RS}${NONCE}B${RS}\na${RS}b${RS}${NONCE}Ex${RS}c\n${RS}${NONCE}E0${RS}\n`]);
    assert.equal(result.output, `a${RS}b${RS}${NONCE}Ex${RS}c\n`);
    assert.equal(result.exit, 0);
  });

  it('reports nothing started when the terminal closes before the first marker (no shell)', () => {
    const parser = new ShellOutputParser(NONCE);
    parser.push(Buffer.from('exec: "/bin/sh": stat /bin/sh: no such file or directory\r\n'));
    assert.equal(parser.started, false);
    assert.match(parser.beforeStart, /no such file/);
  });

  it('is done after the exit status and ignores what follows', () => {
    const parser = new ShellOutputParser(NONCE);
    parser.push(Buffer.from(`${RS}${NONCE}B${RS}\r\n${RS}${NONCE}E127${RS}\n`));
    assert.equal(parser.finished, true);
    assert.deepEqual(parser.push(Buffer.from('logout\n')), []);
  });
});

describe('CrlfToLf', () => {
  it('undoes the terminal CRLF mapping across chunks, keeping lone CRs', () => {
    const convert = new CrlfToLf();
    const out = [convert.push(Buffer.from('a\r')), convert.push(Buffer.from('\nb\rc\r\n')), convert.flush()]
      .map((part) => part.toString())
      .join('');
    assert.equal(out, 'a\nb\rc\n');
  });
});
