import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReference, manifestTarget, parseImageReference } from './reference.ts';

const SHA = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  const valid: { image: string; expected: string; target: string }[] = [
    { image: 'busybox', expected: 'docker.io/library/busybox:latest', target: 'latest' },
    { image: 'busybox:1.36', expected: 'docker.io/library/busybox:1.36', target: '1.36' },
    { image: 'library/nginx', expected: 'docker.io/library/nginx:latest', target: 'latest' },
    { image: 'bitnami/redis:7.2', expected: 'docker.io/bitnami/redis:7.2', target: '7.2' },
    { image: 'docker.io/nginx', expected: 'docker.io/library/nginx:latest', target: 'latest' },
    { image: 'index.docker.io/nginx:1', expected: 'docker.io/library/nginx:1', target: '1' },
    { image: 'registry-1.docker.io/a/b', expected: 'docker.io/a/b:latest', target: 'latest' },
    { image: `nginx@${SHA}`, expected: `docker.io/library/nginx@${SHA}`, target: SHA },
    { image: `nginx:1.27@${SHA}`, expected: `docker.io/library/nginx:1.27@${SHA}`, target: SHA },
    { image: 'myacr.azurecr.io/team/app:v2', expected: 'myacr.azurecr.io/team/app:v2', target: 'v2' },
    { image: '127.0.0.1:5000/fixtures/one:1.0', expected: '127.0.0.1:5000/fixtures/one:1.0', target: '1.0' },
    { image: 'localhost/app', expected: 'localhost/app:latest', target: 'latest' },
    { image: 'localhost:5000/app', expected: 'localhost:5000/app:latest', target: 'latest' },
    { image: '[::1]:5000/app:x', expected: '[::1]:5000/app:x', target: 'x' },
    { image: 'Registry/app', expected: 'Registry/app:latest', target: 'latest' },
    { image: 'a/b__c/d-e.f_g--h', expected: 'docker.io/a/b__c/d-e.f_g--h:latest', target: 'latest' },
    { image: 'host:5000/app', expected: 'host:5000/app:latest', target: 'latest' },
  ];
  for (const { image, expected, target } of valid) {
    it(`reads ${image}`, () => {
      const parsed = parseImageReference(image);
      if (!parsed.ok) assert.fail(parsed.problem);
      assert.equal(formatReference(parsed.reference), expected);
      assert.equal(manifestTarget(parsed.reference), target);
    });
  }

  const invalid: { image: string; problem: RegExp }[] = [
    { image: '', problem: /empty/ },
    { image: 'UPPER', problem: /not a valid repository/ },
    { image: 'app:', problem: /not a valid tag/ },
    { image: 'app:-x', problem: /not a valid tag/ },
    { image: `app:${'t'.repeat(129)}`, problem: /not a valid tag/ },
    { image: 'app@sha256:abc', problem: /not a sha256 or sha512 digest/ },
    { image: `app@md5:${'a'.repeat(32)}`, problem: /not a sha256 or sha512 digest/ },
    { image: 'host:99999999/app', problem: /not a valid registry host/ },
    { image: 'bad_host.example/app', problem: /not a valid registry host/ },
    { image: 'example.com/', problem: /empty/ },
    { image: 'a//b', problem: /not a valid repository/ },
    { image: 'a/-b', problem: /not a valid repository/ },
    { image: 'a'.repeat(300), problem: /longer than 255/ },
    { image: `x/${'a'.repeat(2000)}`, problem: /longer than 1024/ },
  ];
  for (const { image, problem } of invalid) {
    it(`refuses ${image.slice(0, 40)}`, () => {
      const parsed = parseImageReference(image);
      if (parsed.ok) assert.fail(formatReference(parsed.reference));
      assert.match(parsed.problem, problem);
    });
  }
});
