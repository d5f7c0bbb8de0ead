import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { checkPod } from './capability.ts';
import { type Environment, expand } from './environment.ts';

describe('expand', () => {
  const environment: Environment = new Map([
    ['HOST', { value: 'db.example', secure: false }],
    ['PASSWORD', { value: 'hunter2', secure: true }],
    ['UNRESOLVED_SECRET', { value: undefined, secure: true }],
  ]);
  const cases: { input: string; text: string; secure: boolean }[] = [
    { input: 'plain', text: 'plain', secure: false },
    { input: '$(HOST):5432', text: 'db.example:5432', secure: false },
    { input: 'postgres://u:$(PASSWORD)@$(HOST)', text: 'postgres://u:hunter2@db.example', secure: true },
    { input: '$(MISSING) stays', text: '$(MISSING) stays', secure: false },
    { input: '$$(HOST) is escaped', text: '$(HOST) is escaped', secure: false },
    { input: 'cost: $$5, $5', text: 'cost: $5, $5', secure: false },
    { input: 'unclosed $(HOST', text: 'unclosed $(HOST', secure: false },
    { input: 'unclosed $( then $$ and $(HOST', text: 'unclosed $( then $ and $(HOST', secure: false },
    { input: '$(HOST$(HOST)', text: '$(HOST$(HOST)', secure: false },
    { input: '$(HOST)$(HOST) $', text: 'db.exampledb.example $', secure: false },
    { input: '$(', text: '$(', secure: false },
    { input: '$$$(HOST)', text: '$db.example', secure: false },
    // Checking the spec only, a Secret's value is unknown but its secrecy still counts.
    { input: '--token=$(UNRESOLVED_SECRET)', text: '--token=$(UNRESOLVED_SECRET)', secure: true },
  ];
  for (const { input, text, secure } of cases) {
    it(`expands ${JSON.stringify(input)}`, () => {
      assert.deepEqual(expand(input, environment), { text, secure });
    });
  }

  it('stops growing past its limit', () => {
    const { text } = expand('$(HOST)'.repeat(1000), environment, 25);
    assert.equal(text, 'db.exampledb.exampledb.example');
  });
});

describe('variable sources ACI cannot deliver', () => {
  it('refuses fileKeyRef instead of dropping the variable', () => {
    const pod: V1Pod = {
      metadata: { name: 'app', namespace: 'default' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'app:1',
            // EnvFiles (Kubernetes 1.34+): a key of a file in an emptyDir, written by an init container.
            env: [
              {
                name: 'DB_URL',
                valueFrom: { fileKeyRef: { volumeName: 'config', path: 'db.env', key: 'DB_URL' } },
              },
            ],
          },
        ],
      },
    };
    assert.deepEqual(
      checkPod(pod).map((p) => p.path),
      ['spec.containers[0].env[0].valueFrom.fileKeyRef'],
    );
  });
});
