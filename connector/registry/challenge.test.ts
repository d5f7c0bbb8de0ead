import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChallenges } from './challenge.ts';

describe('parseChallenges', () => {
  const cases: { name: string; header: string | undefined; expected: unknown[] }[] = [
    {
      name: "Docker Hub's bearer challenge",
      header:
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      expected: [
        {
          scheme: 'bearer',
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/busybox:pull',
        },
      ],
    },
    {
      name: 'a bearer challenge without scope, spaces after commas, scheme in capitals',
      header: 'BEARER realm="https://r.example/oauth2/token", service="r.example"',
      expected: [
        { scheme: 'bearer', realm: 'https://r.example/oauth2/token', service: 'r.example', scope: undefined },
      ],
    },
    {
      name: 'a scope with several actions, a comma inside quotes, an escaped quote',
      header: 'Bearer realm="https://a/t",scope="repository:x:pull,push",error="a \\"b\\""',
      expected: [
        { scheme: 'bearer', realm: 'https://a/t', service: undefined, scope: 'repository:x:pull,push' },
      ],
    },
    { name: 'basic', header: 'Basic realm="Registry Realm"', expected: [{ scheme: 'basic' }] },
    {
      name: 'two challenges in one header',
      header: 'Basic realm="r", Bearer realm="https://a/token",service=svc',
      expected: [
        { scheme: 'basic' },
        { scheme: 'bearer', realm: 'https://a/token', service: 'svc', scope: undefined },
      ],
    },
    {
      name: 'a bearer challenge without realm is not usable',
      header: 'Bearer service="x"',
      expected: [{ scheme: 'other', name: 'bearer' }],
    },
    { name: 'another scheme', header: 'Negotiate', expected: [{ scheme: 'other', name: 'negotiate' }] },
    { name: 'no header', header: undefined, expected: [] },
    { name: 'garbage', header: '=,=="', expected: [] },
    {
      name: 'an unterminated quote ends the header',
      header: 'Bearer realm="https://a',
      expected: [{ scheme: 'bearer', realm: 'https://a', service: undefined, scope: undefined }],
    },
    { name: 'an oversized header', header: `Bearer realm="${'x'.repeat(9000)}"`, expected: [] },
  ];
  for (const { name, header, expected } of cases) {
    it(name, () => {
      assert.deepEqual(parseChallenges(header), expected);
    });
  }
});
