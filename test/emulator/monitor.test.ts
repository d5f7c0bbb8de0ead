// Azure Monitor's Metrics - List on container groups, driven through the real @azure/arm-monitor
// client the connector uses (built by connector/azure-client.ts) and the emulator's control API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MonitorClient, Response as MetricsResponse } from '@azure/arm-monitor';
import { createAzureClients } from '../../connector/azure-client.ts';
import { classifyAzureError } from '../../runtime/errors.ts';
import {
  isoDuration,
  MONITOR_TIMINGS,
  parseUsageRules,
  profileAt,
  UsageScript,
  type UsageRule,
} from './monitor.ts';
import { clientSettingsFor, containerGroup, FAST_POLL, sleep } from './testing.ts';
import { startEmulator, type RunningEmulator } from './server.ts';

const MINUTE = 60_000;

/** One container's series of one metric (by its containername dimension); the only one without. */
function series(response: MetricsResponse, metric: string, container?: string) {
  const timeseries = response.value.find((m) => m.name.value === metric)?.timeseries ?? [];
  return container === undefined
    ? timeseries[0]
    : timeseries.find((s) => s.metadatavalues?.some((m) => m.value === container));
}

function averages(response: MetricsResponse, metric: string, container?: string): (number | undefined)[] {
  return (series(response, metric, container)?.data ?? []).map((point) => point.average);
}

describe('profileAt', () => {
  const table: [string, Parameters<typeof profileAt>[0], number, number][] = [
    ['a constant', { constant: 300 }, 99_999, 300],
    ['a ramp at its start', { ramp: { from: 100, to: 900, overMs: 4000 } }, 0, 100],
    ['a ramp half way', { ramp: { from: 100, to: 900, overMs: 4000 } }, 2000, 500],
    ['a ramp that ended holds its end', { ramp: { from: 100, to: 900, overMs: 4000 } }, 10_000, 900],
    ['a falling ramp', { ramp: { from: 800, to: 0, overMs: 1000 } }, 250, 600],
  ];
  for (const [name, profile, since, expected] of table) {
    it(name, () => {
      assert.equal(profileAt(profile, since), expected);
    });
  }
});

describe('UsageScript', () => {
  const target = { resourceGroup: 'RG', group: 'web-api-7d9f-abcde', container: 'app' };
  it('first matching rule that names the metric wins; idle figures otherwise', () => {
    const script = new UsageScript();
    assert.equal(script.valueAt(target, 'cpuMillicores', 0), 2);
    script.set(
      [
        { groupPrefix: 'web-db', cpuMillicores: { constant: 1 } },
        { resourceGroup: 'rg', groupPrefix: 'web-api', memoryBytes: { constant: 7 } },
        { container: 'app', cpuMillicores: { constant: 400 } },
      ],
      1000,
    );
    assert.equal(script.valueAt(target, 'cpuMillicores', 2000), 400);
    assert.equal(script.valueAt(target, 'memoryBytes', 2000), 7, 'resource groups match in any case');
    assert.equal(script.valueAt({ ...target, container: 'sidecar' }, 'cpuMillicores', 2000), 2);
  });

  it('keeps the past: a grain before a change keeps the figures it had; a ramp starts when set', () => {
    const script = new UsageScript();
    script.set([{ cpuMillicores: { constant: 100 } }], 1000);
    script.set([{ cpuMillicores: { ramp: { from: 0, to: 1000, overMs: 1000 } } }], 5000);
    assert.equal(script.valueAt(target, 'cpuMillicores', 4999), 100);
    assert.equal(script.valueAt(target, 'cpuMillicores', 5500), 500);
    assert.equal(script.valueAt(target, 'cpuMillicores', 500), 2, 'before any rule: idle');
  });
});

describe('parseUsageRules', () => {
  const valid: UsageRule[] = [
    {
      groupPrefix: 'ns-web',
      cpuMillicores: { constant: 0 },
      memoryBytes: { ramp: { from: 1, to: 2, overMs: 5 } },
    },
    {},
  ];
  it('accepts rules of the documented shape', () => {
    assert.deepEqual(parseUsageRules({ rules: valid }), valid);
  });
  const invalid: [string, unknown][] = [
    ['no rules', {}],
    ['rules not a list', { rules: {} }],
    ['a negative figure', { rules: [{ cpuMillicores: { constant: -1 } }] }],
    ['a ramp over no time', { rules: [{ cpuMillicores: { ramp: { from: 1, to: 2, overMs: 0 } } }] }],
    [
      'both kinds at once',
      { rules: [{ cpuMillicores: { constant: 1, ramp: { from: 1, to: 2, overMs: 1 } } }] },
    ],
    ['a non-text prefix', { rules: [{ groupPrefix: 3 }] }],
  ];
  for (const [name, body] of invalid) {
    it(`refuses ${name} with 400 InvalidUsage`, () => {
      assert.throws(() => parseUsageRules(body), { status: 400, code: 'InvalidUsage' });
    });
  }
});

describe('isoDuration', () => {
  for (const [ms, text] of [
    [1000, 'PT1S'],
    [500, 'PT0.5S'],
    [60_000, 'PT1M'],
    [3_600_000, 'PT1H'],
    [86_400_000, 'P1D'],
  ] as const) {
    it(`${ms} ms is ${text}`, () => {
      assert.equal(isoDuration(ms), text);
    });
  }
});

describe('Metrics - List on container groups, through @azure/arm-monitor (realistic grain, fake clock)', () => {
  // A minute boundary, so that grains line up with the test's arithmetic.
  let now = Math.floor(Date.now() / MINUTE) * MINUTE;
  let emulator: RunningEmulator;
  let monitor: MonitorClient;
  let groupsScope: string;
  before(async () => {
    emulator = await startEmulator({
      clock: () => now,
      timeline: { pendingMs: 1000, creatingMs: 4000, backoffBaseMs: 1000, backoffMaxMs: 10_000 },
      monitor: MONITOR_TIMINGS.realistic,
    });
    ({ monitor } = createAzureClients({ ...clientSettingsFor(emulator), retry: { maxRetries: 0 } }));
    groupsScope = `subscriptions/${emulator.subscriptionId}/resourceGroups/${emulator.resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups`;
    const { client } = createAzureClients(clientSettingsFor(emulator));
    const twoContainers = containerGroup(emulator.region);
    twoContainers.containers.push({
      name: 'sidecar',
      image: 'busybox',
      resources: { requests: { cpu: 0.25, memoryInGB: 0.5 } },
    });
    await client.containerGroups.beginCreateOrUpdate(
      emulator.resourceGroup,
      'web-api',
      twoContainers,
      FAST_POLL,
    );
    now += 5000; // provisioned: both containers run from here
  });
  after(() => emulator.close());

  /** Moves the fake clock to the next minute boundary, so that a new script covers whole grains. */
  const nextMinute = (): number => {
    now = Math.ceil(now / MINUTE) * MINUTE;
    return now;
  };
  const list = (group: string, options: Parameters<MonitorClient['metrics']['list']>[1]) =>
    monitor.metrics.list(`${groupsScope}/${group}`, options);
  const iso = (ms: number): string => new Date(ms).toISOString();

  it('a group too new to have a published grain answers empty timeseries', async () => {
    const response = await list('web-api', {
      metricnames: 'CpuUsage,MemoryUsage',
      aggregation: 'average',
      interval: 'PT1M',
      timespan: `${iso(now - 5 * MINUTE)}/${iso(now)}`,
      filter: "containerName eq '*'",
    });
    assert.deepEqual(
      response.value.map((metric) => [
        metric.name.value,
        metric.unit,
        metric.errorCode,
        metric.timeseries.length,
      ]),
      [
        ['CpuUsage', 'Count', 'Success', 0],
        ['MemoryUsage', 'Bytes', 'Success', 0],
      ],
    );
    assert.equal(response.interval, 'PT1M');
    assert.equal(response.namespace, 'Microsoft.ContainerInstance/containerGroups');
  });

  it('per container, one average per minute: scripted figures, gaps and the unpublished minute without one', async () => {
    const started = now;
    await emulator.control.setUsage([
      {
        groupPrefix: 'web-',
        container: 'app',
        cpuMillicores: { constant: 250 },
        memoryBytes: { constant: 2e8 },
      },
    ]);
    now += 4 * MINUTE + 30_000;
    const from = started - 2 * MINUTE;
    const response = await list('web-api', {
      metricnames: 'CpuUsage,MemoryUsage',
      aggregation: 'average',
      interval: 'PT1M',
      timespan: `${iso(from)}/${iso(now)}`,
      filter: "containerName eq '*'",
    });
    const app = series(response, 'CpuUsage', 'app');
    assert.equal(
      app?.metadatavalues?.[0]?.name?.value,
      'containername',
      'Azure names the dimension in lower case',
    );
    // Minutes: two before the group ran, three published (the first partly run, at the same
    // average), the last complete one still within Monitor's publishing delay, the current one.
    assert.deepEqual(averages(response, 'CpuUsage', 'app'), [
      undefined,
      undefined,
      250,
      250,
      250,
      undefined,
      undefined,
    ]);
    assert.equal(
      app.data?.[0]?.timeStamp.toISOString(),
      iso(Math.floor(from / MINUTE) * MINUTE),
      'grains start on the grain’s boundary',
    );
    assert.equal(averages(response, 'CpuUsage', 'sidecar')[2], 2, 'an unscripted container is idle');
    assert.equal(averages(response, 'MemoryUsage', 'app')[3], 2e8);
  });

  it('a ramp rises grain by grain; minimum and maximum come from the same samples', async () => {
    const rampStart = nextMinute();
    await emulator.control.setUsage([
      { container: 'app', cpuMillicores: { ramp: { from: 0, to: 1200, overMs: 2 * MINUTE } } },
    ]);
    now += 4 * MINUTE;
    const response = await list('web-api', {
      metricnames: 'CpuUsage',
      aggregation: 'average,minimum,maximum',
      interval: 'PT1M',
      timespan: `${iso(rampStart)}/${iso(rampStart + 3 * MINUTE)}`,
      filter: "containerName eq 'app'",
    });
    assert.equal(response.value[0]?.timeseries.length, 1, 'only the container asked for');
    const [first = 0, second = 0, third] = averages(response, 'CpuUsage');
    assert.ok(first < second, 'rising');
    assert.equal(third, 1200, 'the ramp holds its end');
    const { minimum = -1, maximum = 0 } = series(response, 'CpuUsage')?.data?.[0] ?? {};
    assert.ok(minimum >= 0 && maximum <= 600 && minimum < maximum);
  });

  it('without the dimension filter: one series, the containers summed', async () => {
    const from = nextMinute();
    await emulator.control.setUsage([
      { container: 'app', cpuMillicores: { constant: 100 } },
      { container: 'sidecar', cpuMillicores: { constant: 10 } },
    ]);
    now += 3 * MINUTE;
    const response = await list('web-api', {
      metricnames: 'CpuUsage',
      interval: 'PT1M',
      timespan: `${iso(from)}/${iso(from + MINUTE)}`,
    });
    assert.equal(response.value[0]?.timeseries.length, 1);
    assert.deepEqual(series(response, 'CpuUsage')?.metadatavalues, []);
    assert.equal(averages(response, 'CpuUsage')[0], 110);
  });

  it('an unknown metric name: 400 BadRequest naming the valid ones, classified as invalid input', async () => {
    const error = await list('web-api', { metricnames: 'CpuUsage,GpuUsage', interval: 'PT1M' }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    const classified = classifyAzureError(error);
    assert.equal(classified.statusCode, 400);
    assert.equal(classified.code, 'BadRequest');
    assert.match(
      classified.message,
      /^Failed to find metric configuration for provider: Microsoft.ContainerInstance, resource Type: containerGroups, metric: GpuUsage, Valid metrics: CpuUsage,MemoryUsage,NetworkBytesReceivedPerSecond,NetworkBytesTransmittedPerSecond$/,
    );
    assert.equal(classified.kind, 'InvalidInput');
  });

  it('a group that does not exist: 404 ResourceNotFound', async () => {
    const error = await list('nope', { metricnames: 'CpuUsage' }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.equal(classifyAzureError(error).code, 'ResourceNotFound');
  });

  it('logs every read with its query', async () => {
    await emulator.control.clearRequests();
    await list('web-api', { metricnames: 'MemoryUsage', interval: 'PT1M', filter: "containerName eq '*'" });
    const [entry] = await emulator.control.requests();
    assert.ok(entry);
    assert.equal(entry.method, 'GET');
    assert.equal(entry.status, 200);
    assert.ok(entry.path.endsWith('/containerGroups/web-api/providers/Microsoft.Insights/metrics'));
    const query = new URLSearchParams(entry.query);
    assert.equal(query.get('api-version'), '2024-02-01');
    assert.equal(query.get('$filter'), "containerName eq '*'");
    assert.equal(query.get('metricnames'), 'MemoryUsage');
  });
});

describe('the fast timeline compresses Monitor’s grain to a second', () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(() => emulator.close());

  it('answers one-second grains, published as soon as they end', async () => {
    const { client, monitor } = createAzureClients(clientSettingsFor(emulator));
    await client.containerGroups.beginCreateOrUpdateAndWait(
      emulator.resourceGroup,
      'fast-1',
      containerGroup(emulator.region),
      FAST_POLL,
    );
    await emulator.control.setUsage([{ cpuMillicores: { constant: 700 } }]);
    await sleep(2500);
    const to = Date.now();
    const response = await monitor.metrics.list(
      `subscriptions/${emulator.subscriptionId}/resourceGroups/${emulator.resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/fast-1`,
      {
        metricnames: 'CpuUsage',
        interval: 'PT1M',
        timespan: `${new Date(to - 5000).toISOString()}/${new Date(to).toISOString()}`,
        filter: "containerName eq '*'",
      },
    );
    assert.equal(response.interval, 'PT1S');
    const figures = averages(response, 'CpuUsage', 'app');
    assert.ok(figures.includes(700), `a full second at the scripted figure: ${JSON.stringify(figures)}`);
  });
});
