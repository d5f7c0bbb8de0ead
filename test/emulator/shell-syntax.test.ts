import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CommandCompleteness,
  MAX_NESTING,
  parseScript,
  ShellSyntaxError,
  type Word,
} from './shell-syntax.ts';

/** A word as text, with quoted text in «», parameters as $name and substitutions as $(…). */
function show(word: Word): string {
  return word.parts
    .map((part) => {
      if (part.kind === 'text') return part.quoted ? `«${part.text}»` : part.text;
      if (part.kind === 'param') return `$${part.name}`;
      return `$(${part.script.length})`;
    })
    .join('');
}

function words(text: string): string[] {
  const [first] = parseScript(text);
  const command = first?.first.commands[0];
  assert.ok(command);
  return [
    ...command.assignments.map((a) => `${a.name}=${show(a.value)}`),
    ...command.words.map(show),
    ...command.redirects.map((r) => `${r.fd}${r.op}${show(r.target)}`),
  ];
}

describe('parseScript', () => {
  const cases: [string, string[]][] = [
    [`echo 'a b' "c $X d" e\\ f`, ['echo', '«a b»', '«c »$X« d»', 'e« »f']],
    [`printf '%s' "$?" \${HOME}x $1 $@ "$#"`, ['printf', '«%s»', '«»$?', '$HOMEx', '$1', '$@', '«»$#']],
    [`echo $(echo a; echo b) \`echo c\` "$(x)"`, ['echo', '$(2)', '$(1)', '«»$(1)']],
    [`A=1 B="x y" env`, ['A=1', 'B=«x y»', 'env']],
    [`echo A=1`, ['echo', 'A=1']],
    [
      `'sh' -c 'x' </dev/null 2>&1 >&2 2>/dev/null >>out`,
      ['«sh»', '-c', '«x»', '0</dev/null', '2>&1', '1>&2', '2>/dev/null', '1>>out'],
    ],
    [`echo "a\\"b\\$c\\d" 'it'\\''s'`, ['echo', '«a"b$c\\d»', "«it's»"]],
    [`echo $ "$" a$ $%`, ['echo', '$', '«$»', 'a$', '$%']],
    ['echo a#b # comment', ['echo', 'a#b']],
    ['echo \\\ncontinued', ['echo', 'continued']],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      assert.deepEqual(words(text), expected);
    });
  }

  it('reads lists, and-or lists and pipelines', () => {
    const script = parseScript('a && b || c; d | e\nf');
    assert.equal(script.length, 3);
    assert.deepEqual(
      script[0]?.rest.map((r) => r.op),
      ['&&', '||'],
    );
    assert.equal(script[1]?.first.commands.length, 2);
  });

  it('keeps newlines inside quotes and allows a newline after && and |', () => {
    assert.deepEqual(words("printf 'a\nb'"), ['printf', '«a\nb»']);
    assert.equal(parseScript('a &&\n\nb').length, 1);
    assert.equal(parseScript('a |\nb')[0]?.first.commands.length, 2);
  });

  const errors: [string, RegExp][] = [
    ['echo "open', /unterminated quoted string/],
    ["echo 'open", /unterminated quoted string/],
    ['echo $(open', /unterminated \$\( \)/],
    ['echo `open', /unterminated `/],
    ['; echo', /unexpected ";"/],
    ['echo a;;', /unexpected ";"/],
    ['a &&', /unexpected end of file/],
    ['echo a &', /background jobs/],
    ['(echo a)', /subshells/],
    ['echo $((1+1))', /arithmetic/],
    ['echo ${X:-d}', /bad substitution/],
    ['echo ${X', /missing }/],
    ['echo > ', /unexpected end of file/],
    ['echo )', /unexpected "\)"/],
  ];
  for (const [text, message] of errors) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseScript(text),
        (error: unknown) => error instanceof ShellSyntaxError && message.test(error.message),
      );
    });
  }

  it('bounds the nesting of substitutions', () => {
    const nested = (depth: number): string => `${'$('.repeat(depth)}echo${')'.repeat(depth)}`;
    assert.doesNotThrow(() => parseScript(nested(MAX_NESTING)));
    assert.throws(() => parseScript(nested(MAX_NESTING + 1)), /nested too deeply/);
  });

  it('parses in time linear in the text (a long word and many commands)', () => {
    assert.equal(words(`echo ${'x'.repeat(200_000)}`)[1]?.length, 200_000);
    assert.equal(parseScript('true;'.repeat(50_000)).length, 50_000);
  });
});

describe('CommandCompleteness', () => {
  const cases: [string[], boolean[]][] = [
    [['echo a\n'], [true]],
    [
      ["echo 'a\n", "b'\n"],
      [false, true],
    ],
    [
      ['echo "a\n', '$(echo ")")\n', '"\n'],
      [false, false, true],
    ],
    [
      ['echo "$(echo ")"\n', ')"\n'],
      [false, true],
    ],
    [
      ['echo $(\n', 'echo a)\n'],
      [false, true],
    ],
    [
      ['echo `\n', '`\n'],
      [false, true],
    ],
    [
      ['echo a \\\n', 'b\n'],
      [false, true],
    ],
    [
      ['a &&\n', 'b\n'],
      [false, true],
    ],
    [
      ['a ||\n', '\n', 'b\n'],
      [false, false, true],
    ],
    [
      ['a |\n', 'b\n'],
      [false, true],
    ],
    [["echo a # it's a comment\n"], [true]],
    [
      ["echo a#'b\n", "'\n"],
      [false, true],
    ],
    [["echo \\'\n"], [true]],
    [['echo a &\n'], [true]],
  ];
  for (const [lines, expected] of cases) {
    it(JSON.stringify(lines), () => {
      const completeness = new CommandCompleteness();
      assert.deepEqual(
        lines.map((line) => completeness.feed(line)),
        expected,
      );
    });
  }
});
