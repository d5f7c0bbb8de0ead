import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseMetricsResponse, type MetricsResponse } from './monitor.ts';

describe('parseDuration', () => {
  const table: [string | undefined, number | undefined][] = [
    ['PT1M', 60_000],
    ['PT5S', 5000],
    ['PT0.5S', 500],
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['PT1H30M', 5_400_000],
    ['pt1m', 60_000],
    ['PT', undefined],
    ['P', undefined],
    ['PT0S', undefined],
    ['FULL', undefined],
    ['1m', undefined],
    [undefined, undefined],
  ];
  for (const [text, ms] of table) {
    it(`${String(text)} -> ${String(ms)}`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }
});

const at = (iso: string): Date => new Date(iso);

/** The shape Azure answers Metrics - List with (api-version 2024-02-01, `containerName eq '*'`). */
function response(overrides: Partial<MetricsResponse> = {}): MetricsResponse {
  const series = (container: string, values: (number | undefined)[]) => ({
    metadatavalues: [{ name: { value: 'containername', localizedValue: 'containername' }, value: container }],
    data: values.map((average, index) => ({
      timeStamp: at(`2026-01-01T00:0${index}:00Z`),
      ...(average !== undefined && { average }),
    })),
  });
  return {
    interval: 'PT1M',
    value: [
      {
        name: { value: 'CpuUsage' },
        timeseries: [series('app', [100, 200, undefined]), series('sidecar', [5, 6, 7])],
      },
      {
        name: { value: 'MemoryUsage' },
        timeseries: [series('app', [1e6, 2e6, undefined]), series('sidecar', [3e6, 3e6, 4e6])],
      },
    ],
    ...overrides,
  };
}

describe('parseMetricsResponse', () => {
  it('splits by container, keeps grains that carry an average, oldest first', () => {
    const parsed = parseMetricsResponse(response());
    assert.equal(parsed.grainMs, 60_000);
    const start = Date.parse('2026-01-01T00:00:00Z');
    assert.deepEqual(parsed.containers.get('app'), {
      cpuMillicores: [
        { start, value: 100 },
        { start: start + 60_000, value: 200 },
      ],
      memoryBytes: [
        { start, value: 1e6 },
        { start: start + 60_000, value: 2e6 },
      ],
    });
    assert.equal(parsed.containers.get('sidecar')?.cpuMillicores.length, 3);
  });

  it('a group without data yet: empty timeseries, no containers', () => {
    const parsed = parseMetricsResponse(
      response({
        value: [
          { name: { value: 'CpuUsage' }, timeseries: [] },
          { name: { value: 'MemoryUsage' }, timeseries: [] },
        ],
      }),
    );
    assert.equal(parsed.containers.size, 0);
  });

  it('uses the grain Azure answered with, a minute when it names none', () => {
    assert.equal(parseMetricsResponse(response({ interval: 'PT5M' })).grainMs, 300_000);
    const { interval: _none, ...withoutInterval } = response();
    assert.equal(parseMetricsResponse(withoutInterval).grainMs, 60_000);
  });

  it('ignores other metrics, series without the container dimension, negative and non-finite averages', () => {
    const parsed = parseMetricsResponse({
      value: [
        { name: { value: 'NetworkBytesReceivedPerSecond' }, timeseries: [{ data: [] }] },
        {
          name: { value: 'CpuUsage' },
          timeseries: [
            { metadatavalues: [], data: [{ timeStamp: at('2026-01-01T00:00:00Z'), average: 1 }] },
            {
              metadatavalues: [{ name: { value: 'containerName' }, value: 'c' }],
              data: [
                { timeStamp: at('2026-01-01T00:00:00Z'), average: -3 },
                { timeStamp: at('2026-01-01T00:01:00Z'), average: Number.NaN },
              ],
            },
          ],
        },
      ],
    });
    assert.deepEqual([...parsed.containers.keys()], ['c']);
    assert.deepEqual(parsed.containers.get('c')?.cpuMillicores, [
      { start: Date.parse('2026-01-01T00:00:00Z'), value: 0 },
    ]);
  });
});
