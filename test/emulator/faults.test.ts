import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideFaults, newInjector, type FaultRule } from './faults.ts';

function run(rules: FaultRule[], seed: number, requests: number): string[] {
  let injector = newInjector(rules, seed);
  const kinds: string[] = [];
  for (let i = 0; i < requests; i++) {
    const decision = decideFaults(injector, { service: 'arm', method: 'GET', path: '/subscriptions/s/x' });
    injector = decision.injector;
    kinds.push(decision.faults.map((fault) => fault.kind).join('+') || 'ok');
  }
  return kinds;
}

describe('decideFaults', () => {
  it('repeats the same faults for the same seed and differs for another', () => {
    const rules: FaultRule[] = [
      { fault: 'throttle', rate: 0.3 },
      { fault: 'unavailable', rate: 0.2 },
    ];
    const first = run(rules, 42, 200);
    assert.deepEqual(run(rules, 42, 200), first);
    assert.notDeepEqual(run(rules, 43, 200), first);
    const throttled = first.filter((kind) => kind === 'throttle').length;
    assert.ok(throttled > 30 && throttled < 90, `about 30% throttled, got ${throttled}/200`);
  });

  it('spends a rule after `times` and fails at most once per request', () => {
    assert.deepEqual(
      run(
        [
          { fault: 'drop', times: 2 },
          { fault: 'internal-error', times: 1 },
        ],
        1,
        4,
      ),
      ['drop', 'drop', 'internal-error', 'ok'],
    );
  });

  it('adds latency beside a failing fault, and matches method and path', () => {
    const injector = newInjector(
      [
        { fault: 'latency', latencyMs: 20 },
        { fault: 'throttle', method: 'put' },
        { fault: 'unavailable', pathContains: '/X' },
      ],
      1,
    );
    const { faults } = decideFaults(injector, { service: 'arm', method: 'GET', path: '/subscriptions/s/x' });
    assert.deepEqual(faults, [{ kind: 'latency', latencyMs: 20 }, { kind: 'unavailable' }]);
  });

  it('applies a rule to its own service only: ARM by default, Entra ID when it says so', () => {
    const injector = newInjector([{ fault: 'drop' }, { fault: 'hang', service: 'entra' }], 1);
    const kinds = (service: 'arm' | 'entra'): string[] =>
      decideFaults(injector, { service, method: 'POST', path: '/t/oauth2/v2.0/token' }).faults.map(
        (fault) => fault.kind,
      );
    assert.deepEqual(kinds('arm'), ['drop']);
    assert.deepEqual(kinds('entra'), ['hang']);
  });
});
