import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_LINE_BYTES, MAX_PENDING_INPUT, Terminal, type ReadResult } from './terminal.ts';

function terminal(...stty: string[]): Terminal {
  const created = new Terminal({ rows: 24, cols: 80 });
  if (stty.length > 0) assert.deepEqual(created.configure(stty), { ok: true });
  return created;
}

function readAll(tty: Terminal): ReadResult[] {
  const reads: ReadResult[] = [];
  for (let read = tty.read(); read !== undefined; read = tty.read()) reads.push(read);
  return reads;
}

describe('Terminal input (line discipline)', () => {
  const cases: { name: string; stty: string[]; input: string; echo: string; reads: ReadResult[] }[] = [
    {
      name: 'echoes as typed, a line is readable at its newline, echo gets onlcr',
      stty: [],
      input: 'ls -l\npart',
      echo: 'ls -l\r\npart',
      reads: ['ls -l\n'],
    },
    { name: '-echo: nothing comes back', stty: ['-echo'], input: 'secret\n', echo: '', reads: ['secret\n'] },
    {
      name: '-onlcr: the echoed newline stays \\n',
      stty: ['-onlcr'],
      input: 'a\n',
      echo: 'a\n',
      reads: ['a\n'],
    },
    {
      name: '^D at the start of a line is end-of-file, not echoed',
      stty: [],
      input: 'x\n\x04',
      echo: 'x\r\n',
      reads: ['x\n', null],
    },
    {
      name: '^D after text hands the text over without a newline; a second ^D is then end-of-file',
      stty: [],
      input: 'abc\x04\x04',
      echo: 'abc',
      reads: ['abc', null],
    },
    {
      name: 'icrnl: CR (Enter in a raw terminal) is a newline',
      stty: [],
      input: 'a\r',
      echo: 'a\r\n',
      reads: ['a\n'],
    },
    {
      name: '-icrnl: CR is a character',
      stty: ['-icrnl'],
      input: 'a\r\n',
      echo: 'a^M\r\n',
      reads: ['a\r\n'],
    },
    {
      name: 'DEL erases the last character',
      stty: [],
      input: 'ab\x7fc\n',
      echo: 'ab\b \bc\r\n',
      reads: ['ac\n'],
    },
    {
      name: 'control characters echo as ^X',
      stty: [],
      input: '\x1b[A\n',
      echo: '^[[A\r\n',
      reads: ['\x1b[A\n'],
    },
    {
      name: '^C discards pending input and echoes ^C',
      stty: [],
      input: 'one\ntw\x03three\n',
      echo: 'one\r\ntw^Cthree\r\n',
      reads: ['three\n'],
    },
    {
      name: 'raw (-icanon): bytes are readable at once and ^D is a byte',
      stty: ['raw', '-echo'],
      input: 'ab\x04\n',
      echo: '',
      reads: ['ab\x04\n'],
    },
    {
      name: 'sane restores a fresh terminal',
      stty: ['raw', '-echo', 'sane'],
      input: 'a\n',
      echo: 'a\r\n',
      reads: ['a\n'],
    },
  ];
  for (const { name, stty, input, echo, reads } of cases) {
    it(name, () => {
      const tty = terminal(...stty);
      const received = tty.receive(input);
      assert.equal(received.echo, echo);
      assert.deepEqual(readAll(tty), reads);
    });
  }

  it('reports ^C as an interrupt only with isig', () => {
    assert.equal(terminal().receive('\x03').interrupted, true);
    const noSignals = terminal('-isig');
    assert.equal(noSignals.receive('\x03\n').interrupted, false);
    assert.deepEqual(readAll(noSignals), ['\x03\n']);
  });

  it('keeps at most 4095 bytes of a line, as n_tty does, and counts UTF-8 bytes', () => {
    const tty = terminal('-echo');
    tty.receive(`${'x'.repeat(MAX_LINE_BYTES + 10)}\n`);
    assert.deepEqual(readAll(tty), [`${'x'.repeat(MAX_LINE_BYTES)}\n`]);
    tty.receive(`${'é'.repeat(3000)}\n`);
    assert.equal(readAll(tty)[0], `${'é'.repeat(Math.floor(MAX_LINE_BYTES / 2))}\n`);
  });

  it('reports overflow when the unread input passes its bound', () => {
    const tty = terminal('-echo');
    const line = `${'y'.repeat(4000)}\n`;
    let overflow = false;
    for (let i = 0; i < MAX_PENDING_INPUT / line.length + 2 && !overflow; i++)
      overflow = tty.receive(line).overflow;
    assert.equal(overflow, true);
    readAll(tty);
    assert.equal(tty.receive('z\n').overflow, false, 'reading frees the room');
  });
});

describe('Terminal output and stty', () => {
  it('turns \\n into \\r\\n with opost and onlcr, and leaves it alone otherwise', () => {
    assert.equal(terminal().output('a\nb\r\n'), 'a\r\nb\r\r\n');
    assert.equal(terminal('-onlcr').output('a\n'), 'a\n');
    assert.equal(terminal('-opost').output('a\n'), 'a\n');
    assert.equal(terminal('raw').output('a\n'), 'a\n', 'raw turns opost off');
  });

  it('reports its settings and size, changes the size, refuses unknown settings', () => {
    const tty = terminal('-echo', 'rows', '40', 'cols', '100');
    assert.deepEqual(tty.configure([]), {
      ok: true,
      report: 'rows 40; columns 100;\n-echo icanon icrnl isig opost onlcr\n',
    });
    assert.deepEqual(tty.configure(['size']), { ok: true, report: '40 100\n' });
    assert.deepEqual(tty.configure(['echo', 'bogus']), {
      ok: false,
      error: "stty: invalid argument 'bogus'\n",
    });
    assert.equal(tty.modes.echo, false, 'a refused stty changes nothing');
    assert.deepEqual(tty.configure(['rows', 'x']), {
      ok: false,
      error: "stty: invalid integer argument: 'x'\n",
    });
  });
});
