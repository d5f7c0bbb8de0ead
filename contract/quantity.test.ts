import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { bytesToGb, DEFAULT_CONTAINER_RESOURCES, parseQuantity, podResources, roundUp } from './quantity.ts';

describe('parseQuantity', () => {
  const cases: { input: string | number | undefined; expected: number | undefined }[] = [
    { input: '250m', expected: 0.25 },
    { input: '2', expected: 2 },
    { input: 1.5, expected: 1.5 },
    { input: '1Gi', expected: 2 ** 30 },
    { input: '1.5Gi', expected: 1.5 * 2 ** 30 },
    { input: '512Mi', expected: 512 * 2 ** 20 },
    { input: '1G', expected: 1e9 },
    { input: '100M', expected: 1e8 },
    { input: '2e3', expected: 2000 },
    { input: '.5', expected: 0.5 },
    { input: 'lots', expected: undefined },
    { input: '1GB', expected: undefined },
    { input: undefined, expected: undefined },
  ];
  for (const { input, expected } of cases) {
    it(`reads ${String(input)}`, () => {
      assert.equal(parseQuantity(input), expected);
    });
  }
});

describe('roundUp', () => {
  const cases: { value: number; step: number; expected: number }[] = [
    { value: bytesToGb(2 ** 30), step: 0.1, expected: 1.1 },
    { value: 0.1 + 0.2, step: 0.1, expected: 0.3 },
    { value: 0.25, step: 0.01, expected: 0.25 },
    { value: 1.001, step: 0.01, expected: 1.01 },
    { value: bytesToGb(14 * 2 ** 30), step: 0.1, expected: 15.1 },
    { value: 2, step: 0.1, expected: 2 },
  ];
  for (const { value, step, expected } of cases) {
    it(`rounds ${value} up to ${expected}`, () => {
      assert.equal(roundUp(value, step), expected);
    });
  }
});

describe('podResources', () => {
  it('sums app containers and takes a larger init container instead', () => {
    const pod: V1Pod = {
      spec: {
        containers: [
          { name: 'a', resources: { requests: { cpu: '500m', memory: '1G' } } },
          { name: 'b', resources: { limits: { cpu: '1', memory: '2G' } } },
        ],
        initContainers: [{ name: 'init', resources: { requests: { cpu: '2', memory: '1G' } } }],
      },
    };
    assert.deepEqual(podResources(pod, DEFAULT_CONTAINER_RESOURCES), { cpu: 2, memoryGb: 3 });
  });
});
