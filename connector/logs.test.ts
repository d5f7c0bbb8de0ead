import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLogOptions, renderLines, requestQuery, selectLines, splitLog } from './logs.ts';

const now = new Date('2026-11-25T20:00:00Z');
// As ACI's logs API returns them with timestamps=true.
const content = [
  '2026-11-25T19:58:00.000000000Z starting nginx',
  '2026-11-25T19:59:30.100000000Z GET / 200',
  '2026-11-25T19:59:59.900000000Z GET /health 200',
  '',
].join('\n');

describe('requestQuery', () => {
  const cases: { target: string; query: string }[] = [
    { target: '/containerLogs/shop/web/nginx?tailLines=5&follow=true', query: 'tailLines=5&follow=true' },
    { target: 'https://10.0.0.4:10250/containerLogs/shop/web/nginx?tailLines=5', query: 'tailLines=5' },
    { target: 'https://host:99999/containerLogs/shop/web/nginx?follow=true', query: 'follow=true' },
    { target: 'http://[::1/containerLogs/a/b/c', query: '' },
    { target: '/containerLogs/a/b/c', query: '' },
  ];
  for (const { target, query } of cases) {
    it(`reads ${target}`, () => {
      assert.equal(requestQuery(target).toString(), query);
    });
  }
});

describe('parseLogOptions', () => {
  it('reads the kubelet’s query', () => {
    const parsed = parseLogOptions(
      new URLSearchParams('tailLines=5&timestamps=true&follow=true&limitBytes=100'),
      now,
    );
    assert.ok(parsed.ok);
    assert.deepEqual(
      [parsed.options.tailLines, parsed.options.timestamps, parsed.options.follow, parsed.options.limitBytes],
      [5, true, true, 100],
    );
  });
  it('turns sinceSeconds into an instant', () => {
    const parsed = parseLogOptions(new URLSearchParams('sinceSeconds=60'), now);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.options.since, new Date('2026-11-25T19:59:00Z'));
  });
  for (const bad of ['tailLines=-1', 'limitBytes=x', 'sinceTime=yesterday']) {
    it(`refuses ${bad}`, () => {
      assert.equal(parseLogOptions(new URLSearchParams(bad), now).ok, false);
    });
  }
});

describe('selecting and rendering lines', () => {
  const lines = splitLog(content);
  it('splits timestamps from text', () => {
    assert.equal(lines.length, 3);
    assert.equal(lines[1]?.text, 'GET / 200');
  });
  it('keeps lines since an instant, and after the last one sent when following', () => {
    const options = {
      tailLines: undefined,
      timestamps: false,
      since: new Date('2026-11-25T19:59:00Z'),
      limitBytes: undefined,
      follow: true,
      previous: false,
    };
    assert.deepEqual(
      selectLines(lines, options, undefined).map((l) => l.text),
      ['GET / 200', 'GET /health 200'],
    );
    assert.deepEqual(
      selectLines(lines, options, lines[1]?.time).map((l) => l.text),
      ['GET /health 200'],
    );
  });
  it('prints timestamps only when asked', () => {
    assert.equal(renderLines(lines.slice(0, 1), false), 'starting nginx\n');
    assert.equal(renderLines(lines.slice(0, 1), true), '2026-11-25T19:58:00.000000000Z starting nginx\n');
  });
});
