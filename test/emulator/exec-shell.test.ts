import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCommandLine, shellContext } from './exec-shell.ts';
import type { ContainerSpec, VolumeSpec } from './spec.ts';

const container: ContainerSpec = {
  name: 'app',
  image: 'nginx',
  command: [],
  environmentVariables: [
    { name: 'MODE', value: 'burst' },
    { name: 'TOKEN', secureValue: 's3cr3t' },
  ],
  ports: [],
  volumeMounts: [
    { name: 'config', mountPath: '/etc/app/', readOnly: true },
    { name: 'scratch', mountPath: '/data/scratch', readOnly: false },
  ],
  cpu: 1,
  memoryInGB: 1,
};
const volumes: VolumeSpec[] = [
  { name: 'config', kind: 'secret', files: { 'a.conf': 'a=1\n', 'b.conf': 'b=2\n' } },
  { name: 'scratch', kind: 'emptyDir', files: {} },
];
const context = shellContext(container, volumes, 'web-1');

describe('runCommandLine', () => {
  const cases: [string, string, number?][] = [
    ['echo hello "big world"', 'hello big world\n'],
    ['echo $MODE-${TOKEN}', 'burst-s3cr3t\n'],
    ['printenv MODE', 'burst\n'],
    ['env', 'HOSTNAME=web-1\nMODE=burst\nTOKEN=s3cr3t\n'],
    ['ls', 'data\netc\n'],
    ['ls /etc/app', 'a.conf\nb.conf\n'],
    ['ls /data/scratch', ''],
    ['ls /nope', 'ls: /nope: No such file or directory\n'],
    ['cat /etc/app/a.conf /etc/app/b.conf', 'a=1\nb=2\n'],
    ['cat /etc/app', 'cat: /etc/app: Is a directory\n'],
    ['hostname', 'web-1\n'],
    ['pwd', '/\n'],
    ['', ''],
    ['rm -rf /', 'sh: rm: not found\n'],
    ['exit', '', 0],
    ['exit 3', '', 3],
  ];
  for (const [line, output, exitCode] of cases) {
    it(JSON.stringify(line), () => {
      assert.deepEqual(runCommandLine(line, context), {
        output,
        ...(exitCode !== undefined && { exitCode }),
      });
    });
  }

  it('does not mistake Object prototype names for commands', () => {
    assert.deepEqual(runCommandLine('constructor', context), { output: 'sh: constructor: not found\n' });
  });
});
