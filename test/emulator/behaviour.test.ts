import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  behaviourFor,
  commandProgram,
  hasShell,
  isMissingImage,
  parseDuration,
  splitWords,
  type Behaviour,
} from './behaviour.ts';

describe('behaviourFor', () => {
  const cases: { name: string; image: string; command?: string[]; expected: Behaviour }[] = [
    {
      name: 'exit code after a delay, with log lines',
      image: 'aci-burst/exit:3?after=2s&log=starting&log=done',
      expected: {
        kind: 'run',
        program: {
          lines: [
            { atMs: 0, text: 'starting' },
            { atMs: 0, text: 'done' },
          ],
          exit: { atMs: 2000, code: 3 },
        },
      },
    },
    {
      name: 'a registry prefix is allowed',
      image: 'myregistry.azurecr.io/aci-burst/exit:0',
      expected: { kind: 'run', program: { lines: [], exit: { atMs: 0, code: 0 } } },
    },
    {
      name: 'crash defaults to exit 1 after 100 ms',
      image: 'aci-burst/crash',
      expected: { kind: 'run', program: { lines: [], exit: { atMs: 100, code: 1 } } },
    },
    {
      name: 'run forever with lines',
      image: 'aci-burst/run?log=hi',
      expected: { kind: 'run', program: { lines: [{ atMs: 0, text: 'hi' }] } },
    },
    { name: 'pull failure', image: 'aci-burst/pull-fail', expected: { kind: 'pull-fail' } },
    { name: 'no capacity', image: 'aci-burst/no-capacity:latest', expected: { kind: 'no-capacity' } },
    {
      name: 'an out-of-range exit code falls back to the default',
      image: 'aci-burst/exit:300',
      expected: { kind: 'run', program: { lines: [], exit: { atMs: 0, code: 0 } } },
    },
    {
      name: 'a shell script in the command',
      image: 'busybox',
      command: ['/bin/sh', '-c', 'echo "hello world"; sleep 500ms && echo bye\nexit 4'],
      expected: {
        kind: 'run',
        program: {
          lines: [
            { atMs: 0, text: 'hello world' },
            { atMs: 500, text: 'bye' },
          ],
          exit: { atMs: 500, code: 4 },
        },
      },
    },
    {
      name: 'an image without a shell runs forever, printing its lines',
      image: 'aci-burst/no-shell?log=serving',
      expected: { kind: 'run', program: { lines: [{ atMs: 0, text: 'serving' }] } },
    },
    {
      name: 'unknown images run forever and print a few lines',
      image: 'nginx:1.27',
      expected: {
        kind: 'run',
        program: {
          lines: [
            { atMs: 0, text: 'container app starting' },
            { atMs: 0, text: 'image nginx:1.27' },
            { atMs: 0, text: 'ready' },
          ],
        },
      },
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.deepEqual(
        behaviourFor({ name: 'app', image: testCase.image, command: testCase.command ?? [] }),
        testCase.expected,
      );
    });
  }
});

describe('commandProgram', () => {
  const cases: { command: string[]; expected: ReturnType<typeof commandProgram> }[] = [
    { command: [], expected: undefined },
    {
      command: ['echo', 'hi there'],
      expected: { lines: [{ atMs: 0, text: 'hi there' }], exit: { atMs: 0, code: 0 } },
    },
    { command: ['sleep', 'infinity'], expected: { lines: [] } },
    { command: ['sh', '-c', 'false'], expected: { lines: [], exit: { atMs: 0, code: 1 } } },
    { command: ['sh', '-c', 'sleep 1; true'], expected: { lines: [], exit: { atMs: 1000, code: 0 } } },
    { command: ['nginx', '-g', 'daemon off;'], expected: undefined },
    { command: ['sh', '-c', 'sleep soon'], expected: undefined },
  ];
  for (const { command, expected } of cases) {
    it(JSON.stringify(command), () => {
      assert.deepEqual(commandProgram(command), expected);
    });
  }
});

describe('small parsers', () => {
  it('parses durations', () => {
    assert.deepEqual(['500ms', '2s', '1.5s', '1m', '3', 'soon', ''].map(parseDuration), [
      500,
      2000,
      1500,
      60_000,
      3000,
      undefined,
      undefined,
    ]);
  });
  it('splits words keeping quotes', () => {
    assert.deepEqual(splitWords(`echo "a b" 'c d' e`), ['echo', 'a b', 'c d', 'e']);
  });
  it('recognises images that do not exist', () => {
    assert.deepEqual(['example.com/does-not-exist:1', 'nginx'].map(isMissingImage), [true, false]);
  });
  it('knows which images have no shell for exec', () => {
    assert.deepEqual(
      [
        'gcr.io/distroless/static:nonroot',
        'myacr.azurecr.io/aci-burst/no-shell?log=x',
        'nginx',
        'aci-burst/run',
      ].map(hasShell),
      [false, false, true, true],
    );
  });
});
