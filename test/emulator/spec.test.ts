import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ACI_LIMITS } from '../../contract/index.ts';
import { ArmError } from './arm-error.ts';
import { isValidGroupName, parseGroupSpec } from './spec.ts';

const CONTEXT = { groupName: 'web-1', regions: ['westus'], limits: DEFAULT_ACI_LIMITS };

/** A PUT body as the SDK serialises it for a two-container pod with a secret volume and a public port. */
function body(): Record<string, unknown> {
  return {
    location: 'West US',
    tags: { 'k8s-pod-uid': '0d6f5a8e' },
    properties: {
      osType: 'Linux',
      restartPolicy: 'OnFailure',
      containers: [
        {
          name: 'web',
          properties: {
            image: 'nginx:1.27',
            command: ['nginx', '-g', 'daemon off;'],
            ports: [{ port: 80, protocol: 'TCP' }],
            environmentVariables: [
              { name: 'MODE', value: 'burst' },
              { name: 'TOKEN', secureValue: 'x' },
            ],
            resources: { requests: { cpu: 1.5, memoryInGB: 2 } },
            volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
          },
        },
        {
          name: 'sidecar',
          properties: { image: 'busybox', resources: { requests: { cpu: 0.25, memoryInGB: 0.5 } } },
        },
      ],
      volumes: [{ name: 'config', secret: { 'app.conf': Buffer.from('a=1').toString('base64') } }],
      ipAddress: { type: 'Public', ports: [{ port: 80, protocol: 'TCP' }], dnsNameLabel: 'web-burst' },
    },
  };
}

function properties(value: Record<string, unknown>): Record<string, unknown> {
  return value['properties'] as Record<string, unknown>;
}

function firstContainerProperties(value: Record<string, unknown>): Record<string, unknown> {
  const containers = properties(value)['containers'] as { properties: Record<string, unknown> }[];
  const first = containers[0];
  assert.ok(first);
  return first.properties;
}

describe('parseGroupSpec', () => {
  it('reads a valid body into a spec with totals and decoded secret files', () => {
    const spec = parseGroupSpec(body(), CONTEXT);
    assert.equal(spec.location, 'westus');
    assert.equal(spec.restartPolicy, 'OnFailure');
    assert.deepEqual([spec.cpu, spec.memoryInGB], [1.75, 2.5]);
    assert.deepEqual(spec.volumes, [{ name: 'config', kind: 'secret', files: { 'app.conf': 'a=1' } }]);
    assert.deepEqual(spec.containers[0]?.environmentVariables[1], { name: 'TOKEN', secureValue: 'x' });
  });

  const cases: {
    name: string;
    groupName?: string;
    change: (b: Record<string, unknown>) => void;
    code: string;
    status?: number;
  }[] = [
    { name: 'uppercase name', groupName: 'Web', change: () => undefined, code: 'InvalidContainerGroupName' },
    {
      name: 'body not an object',
      change: (b) => {
        delete b['properties'];
        b['location'] = undefined;
      },
      code: 'LocationRequired',
    },
    {
      name: 'no properties',
      change: (b) => {
        delete b['properties'];
      },
      code: 'InvalidRequestContent',
    },
    {
      name: 'no osType',
      change: (b) => {
        delete properties(b)['osType'];
      },
      code: 'InvalidRequestContent',
    },
    {
      name: 'unknown restart policy',
      change: (b) => {
        properties(b)['restartPolicy'] = 'Sometimes';
      },
      code: 'InvalidRequestContent',
    },
    {
      name: 'no containers',
      change: (b) => {
        properties(b)['containers'] = [];
      },
      code: 'InvalidRequestContent',
    },
    {
      name: 'no resources',
      change: (b) => {
        delete firstContainerProperties(b)['resources'];
      },
      code: 'InvalidRequestContent',
    },
    {
      name: 'negative cpu',
      change: (b) => {
        firstContainerProperties(b)['resources'] = { requests: { cpu: -1, memoryInGB: 1 } };
      },
      code: 'InvalidRequestContent',
    },
    {
      name: 'memory over 16 GB',
      change: (b) => {
        firstContainerProperties(b)['resources'] = { requests: { cpu: 1, memoryInGB: 16 } };
      },
      code: 'ResourceRequestsExceedLimits',
    },
    {
      name: 'bad container name',
      change: (b) => {
        (properties(b)['containers'] as { name: string }[])[1] = { name: '-x', properties: {} } as never;
      },
      code: 'InvalidRequestContent',
    },
    {
      name: 'duplicate container name',
      change: (b) => {
        const list = properties(b)['containers'] as { name: string }[];
        if (list[1]) list[1].name = 'web';
      },
      code: 'DuplicateContainerName',
    },
    {
      name: 'mount of a missing volume',
      change: (b) => {
        properties(b)['volumes'] = [];
      },
      code: 'VolumeMountNotFound',
    },
    {
      name: 'port out of range',
      change: (b) => {
        firstContainerProperties(b)['ports'] = [{ port: 70000 }];
      },
      code: 'InvalidContainerPort',
    },
    {
      // Found by npm run fuzz: String() of such an object threw a TypeError instead.
      name: 'port that is an object whose toString is no function',
      change: (b) => {
        firstContainerProperties(b)['ports'] = [{ port: [JSON.parse('{"toString": 1, "valueOf": 2}')] }];
      },
      code: 'InvalidContainerPort',
    },
    {
      name: 'ipAddress port no container exposes',
      change: (b) => {
        properties(b)['ipAddress'] = { type: 'Public', ports: [{ port: 80 }, { port: 443 }] };
      },
      code: 'InvalidContainerGroupIpAddressPorts',
    },
    {
      name: 'bad DNS label',
      change: (b) => {
        properties(b)['ipAddress'] = { type: 'Public', ports: [{ port: 80 }], dnsNameLabel: 'ab' };
      },
      code: 'InvalidDnsNameLabel',
    },
    {
      name: 'more registry credentials than containers',
      change: (b) => {
        properties(b)['imageRegistryCredentials'] = [{}, {}, {}];
      },
      code: 'MoreImageRegistryCredentialsThanContainers',
    },
    {
      name: 'image that does not exist',
      change: (b) => {
        firstContainerProperties(b)['image'] = 'acr.io/does-not-exist';
      },
      code: 'InaccessibleImage',
    },
    {
      name: 'region not offered',
      change: (b) => {
        b['location'] = 'mars';
      },
      code: 'LocationNotAvailableForResourceType',
    },
  ];
  for (const testCase of cases) {
    it(`refuses ${testCase.name} with ${testCase.code}`, () => {
      const value = body();
      testCase.change(value);
      assert.throws(
        () => parseGroupSpec(value, { ...CONTEXT, groupName: testCase.groupName ?? CONTEXT.groupName }),
        (error: unknown) => error instanceof ArmError && error.code === testCase.code && error.status === 400,
      );
    });
  }

  it('never crashes on non-JSON-object input', () => {
    for (const input of [null, 42, 'text', [], { location: 'westus', properties: 'x' }]) {
      assert.throws(() => parseGroupSpec(input, CONTEXT), ArmError);
    }
  });
});

describe('isValidGroupName', () => {
  const cases: [string, boolean][] = [
    ['a', true],
    ['default-web-0', true],
    ['x'.repeat(63), true],
    ['x'.repeat(64), false],
    ['-web', false],
    ['web-', false],
    ['we--b', false],
    ['Web', false],
    ['web_1', false],
    ['', false],
  ];
  for (const [name, valid] of cases) {
    it(`${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}…(${name.length})` : name)} is ${valid ? 'valid' : 'invalid'}`, () => {
      assert.equal(isValidGroupName(name), valid);
    });
  }
});
