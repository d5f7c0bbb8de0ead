import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEscapes, MAX_PRINTF_WIDTH, printf } from './shell-printf.ts';

describe('printf', () => {
  // Expected outputs checked against dash's printf.
  const cases: [string, string[], string][] = [
    ['\\036%sB\\036\\n', ['0f3a'], '\x1e0f3aB\x1e\n'],
    ['\\036%sE%d\\036\\n', ['0f3a', '3'], '\x1e0f3aE3\x1e\n'],
    ['%s|', ['a', "it's", '$(x)'], "a|it's|$(x)|"],
    ['%d-%s\\n', ['1', 'a', '2', 'b', '3'], '1-a\n2-b\n3-\n'],
    ['%s\\n', [], '\n'],
    ['no conversions\\n', ['ignored'], 'no conversions\n'],
    [
      '%5s|%-5s|%05d|%x|%o|%X|%c|%%\\n',
      ['ab', 'cd', '42', '255', '8', '255', 'zeta'],
      '   ab|cd   |00042|ff|10|FF|z|%\n',
    ],
    ['%d %d %d %d %d\\n', ["'A", '010', '0x10', '-5', '+7'], '65 8 16 -5 7\n'],
    ['%.2s|%3d|%-3d|%+d\\n', ['abcdef', '5', '5', '5'], 'ab|  5|5  |+5\n'],
    ['%b|%s\\n', ['a\\tb\\0101', 'a\\tb'], 'a\tbA|a\\tb\n'],
    ['\\t\\\\\\a\\q\\101', [], '\t\\\x07\\qA'],
    ['%.3f %f\\n', ['3.14159', '2'], '3.142 2.000000\n'],
    ['%b stop', ['x\\cy'], 'x'],
    ['\\045s', ['arg'], '%s'],
  ];
  for (const [format, args, output] of cases) {
    it(`${JSON.stringify(format)} ${JSON.stringify(args)}`, () => {
      assert.deepEqual(printf(format, args), { output, errors: [] });
    });
  }

  it('prints 0 and fails for a number it cannot read', () => {
    assert.deepEqual(printf('%d\\n', ['abc']), { output: '0\n', errors: ["printf: invalid number 'abc'\n"] });
  });

  it('stops at an unknown directive', () => {
    assert.deepEqual(printf('a%zb', ['x']), { output: 'a', errors: ['printf: %z: invalid directive\n'] });
  });

  it('refuses a width past its bound instead of padding', () => {
    const result = printf(`%${MAX_PRINTF_WIDTH + 1}s`, ['x']);
    assert.equal(result.output, '');
    assert.equal(result.errors.length, 1);
    assert.equal(printf(`%${MAX_PRINTF_WIDTH}s`, ['x']).output.length, MAX_PRINTF_WIDTH);
  });
});

describe('decodeEscapes', () => {
  it('reads \\NNN in a format and \\0NNN in an argument', () => {
    assert.equal(decodeEscapes('\\101\\0101', 'format').text, 'A\x081');
    assert.equal(decodeEscapes('\\101\\0101', 'argument').text, '\\101A');
  });
});
