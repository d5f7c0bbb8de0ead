import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestLogEntry } from '../../test/emulator/request-log.ts';
import { createFigures, faultCounts, retryAfterFigures, tokenRequestFigures } from './measure.ts';

const GROUPS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups';

/** A log entry `atMs` into the run: `request` is "METHOD group" (no group: the list). */
function entry(
  atMs: number,
  request: string,
  status: number,
  extra: Partial<RequestLogEntry> = {},
): RequestLogEntry {
  const [method = 'GET', name = ''] = request.split(' ');
  return {
    method,
    path: name === '' ? GROUPS : `${GROUPS}/${name}`,
    query: '?api-version=2023-05-01',
    status,
    time: new Date(1_000_000 + atMs).toISOString(),
    durationMs: 10,
    ...extra,
  };
}

describe('createFigures', () => {
  const cases: { name: string; log: RequestLogEntry[]; creates: number; duplicates: number }[] = [
    { name: 'one create', log: [entry(0, 'PUT ns-a', 201)], creates: 1, duplicates: 0 },
    {
      name: 'a PUT over an existing group is a duplicate',
      log: [entry(0, 'PUT ns-a', 201), entry(5, 'PUT ns-a', 200)],
      creates: 1,
      duplicates: 1,
    },
    {
      name: 'a dropped connection after the create was applied still created it',
      log: [entry(0, 'PUT ns-a', 0, { appliedStatus: 201 }), entry(5, 'PUT ns-a', 200)],
      creates: 1,
      duplicates: 1,
    },
    {
      name: 'refused and transitioning PUTs change nothing',
      log: [entry(0, 'PUT ns-a', 429), entry(5, 'PUT ns-a', 201), entry(9, 'PUT ns-a', 409)],
      creates: 1,
      duplicates: 0,
    },
    {
      name: 'a create after a delete is a new group, in arrival order whatever the log order',
      log: [entry(9, 'PUT ns-a', 201), entry(0, 'PUT ns-a', 201), entry(5, 'DELETE ns-a', 200)],
      creates: 2,
      duplicates: 0,
    },
    {
      name: 'groups outside the prefix are not counted',
      log: [entry(0, 'PUT other-a', 201), entry(1, 'PUT other-a', 200)],
      creates: 0,
      duplicates: 0,
    },
  ];
  for (const { name, log, creates, duplicates } of cases) {
    it(name, () => {
      const figures = createFigures(log, 'ns-');
      assert.deepEqual([figures.creates, figures.duplicates], [creates, duplicates]);
    });
  }
});

describe('retryAfterFigures', () => {
  const cases: { name: string; log: RequestLogEntry[]; unhonoured: number }[] = [
    {
      name: 'a retry after Retry-After is honoured',
      log: [entry(0, 'GET ns-a', 429, { retryAfterSeconds: 1 }), entry(1010, 'GET ns-a', 200)],
      unhonoured: 0,
    },
    {
      name: 'a retry sooner is not',
      log: [entry(0, 'GET ns-a', 429, { retryAfterSeconds: 1 }), entry(500, 'GET ns-a', 200)],
      unhonoured: 1,
    },
    {
      name: 'Retry-After counts from the answer, not the arrival',
      log: [
        entry(0, 'GET ns-a', 429, { retryAfterSeconds: 1, durationMs: 400 }),
        entry(1100, 'GET ns-a', 200),
      ],
      unhonoured: 1,
    },
    {
      name: 'other requests are not retries',
      log: [entry(0, 'GET ns-a', 429, { retryAfterSeconds: 1 }), entry(100, 'GET ns-b', 200)],
      unhonoured: 0,
    },
  ];
  for (const { name, log, unhonoured } of cases) {
    it(name, () => {
      assert.equal(retryAfterFigures(log).unhonoured, unhonoured);
    });
  }
});

describe('faultCounts', () => {
  it('counts every injected fault by kind', () => {
    assert.deepEqual(
      faultCounts([
        entry(0, 'GET', 429, { faults: ['latency', 'throttle'] }),
        entry(1, 'GET', 200, { faults: ['latency'] }),
        entry(2, 'GET', 200),
      ]),
      { latency: 2, throttle: 1 },
    );
  });
});

describe('tokenRequestFigures', () => {
  const token = (atMs: number, durationMs: number, hung = false): RequestLogEntry => ({
    method: 'POST',
    path: '/tenant/oauth2/v2.0/token',
    query: '',
    status: hung ? 0 : 200,
    time: new Date(1_000_000 + atMs).toISOString(),
    durationMs,
    ...(hung && { faults: ['hang'] }),
  });
  const cases: { name: string; log: RequestLogEntry[]; peakOpen: number; hung: number }[] = [
    { name: 'none', log: [entry(0, 'GET', 200)], peakOpen: 0, hung: 0 },
    { name: 'one after another', log: [token(0, 10), token(10, 10), token(30, 5)], peakOpen: 1, hung: 0 },
    {
      name: 'three hung at once, beside an ARM read',
      log: [
        token(0, 10_000, true),
        token(5, 10_000, true),
        entry(6, 'GET a', 200),
        token(9_000, 10_000, true),
      ],
      peakOpen: 3,
      hung: 3,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const figures = tokenRequestFigures(c.log);
      assert.equal(figures.peakOpen, c.peakOpen);
      assert.equal(figures.hung, c.hung);
      assert.equal(figures.requests, c.log.filter((e) => e.method === 'POST').length);
    });
  }
});
