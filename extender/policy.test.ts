import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Namespace, V1Node, V1Pod, V1Volume } from '@kubernetes/client-node';
import {
  ACI_TAINT,
  ACI_TOLERATION,
  checkPod,
  PROVIDER,
  PROVIDER_LABEL,
  REMAINING_CORES_ANNOTATION,
  REMAINING_GROUPS_ANNOTATION,
  VIRTUAL_NODE_TYPE,
  VIRTUAL_NODE_TYPE_LABEL,
} from '../contract/index.ts';
import {
  filterNode,
  MAX_REASON_PROBLEMS,
  podContext,
  podPreference,
  scoreNodes,
  unknownNodeVerdict,
  type Preference,
} from './policy.ts';

function realNode(name = 'worker-1'): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    status: { allocatable: { cpu: '2', memory: '8Gi', pods: '110' } },
  };
}

function virtualNode(annotations: Record<string, string> = {}): V1Node {
  return {
    metadata: {
      name: 'aci-connector',
      labels: { [VIRTUAL_NODE_TYPE_LABEL]: VIRTUAL_NODE_TYPE, [PROVIDER_LABEL]: PROVIDER },
      annotations,
    },
    spec: { taints: [ACI_TAINT] },
    status: { allocatable: { cpu: '10000', memory: '4Ti', pods: '5000' } },
  };
}

interface PodOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  cpu?: string[];
  volumes?: V1Volume[];
}

function pod(options: PodOptions = {}): V1Pod {
  return {
    metadata: {
      name: 'web-0',
      namespace: 'shop',
      labels: options.labels ?? {},
      annotations: options.annotations ?? {},
    },
    spec: {
      tolerations: [ACI_TOLERATION],
      containers: (options.cpu ?? ['500m']).map((cpu, index) => ({
        name: `c${index}`,
        image: 'nginx:1.27',
        resources: { requests: { cpu, memory: '256Mi' } },
      })),
      volumes: options.volumes ?? [],
    },
  };
}

const hostPath: V1Volume = { name: 'logs', hostPath: { path: '/var/log' } };

describe('filterNode', () => {
  const cases: {
    name: string;
    pod: V1Pod;
    node: V1Node;
    code?: string;
    reason?: RegExp;
    resolvable?: boolean;
  }[] = [
    { name: 'plain pod on a real node', pod: pod(), node: realNode() },
    { name: 'plain pod on the virtual node', pod: pod(), node: virtualNode() },
    {
      name: 'required pod on a real node',
      pod: pod({ labels: { 'azure.com/aci': 'required' } }),
      node: realNode(),
      code: 'requires-aci',
      reason: /azure\.com\/aci=required/,
      resolvable: false,
    },
    {
      name: 'required pod on the virtual node',
      pod: pod({ labels: { 'azure.com/aci': 'required' } }),
      node: virtualNode(),
    },
    {
      name: 'never pod on the virtual node',
      pod: pod({ labels: { 'azure.com/aci': 'never' } }),
      node: virtualNode(),
      code: 'refuses-aci',
      resolvable: false,
    },
    {
      name: 'never pod on a real node',
      pod: pod({ labels: { 'azure.com/aci': 'never' } }),
      node: realNode(),
    },
    {
      name: 'hostPath pod on the virtual node',
      pod: pod({ volumes: [hostPath] }),
      node: virtualNode(),
      code: 'unsupported',
      reason:
        /^ACI cannot run this pod: spec\.volumes\[0\]\.hostPath: volume "logs" mounts a path of the host/,
      resolvable: false,
    },
    { name: 'hostPath pod on a real node', pod: pod({ volumes: [hostPath] }), node: realNode() },
    {
      name: 'a node named aci-connector without the contract labels is a real node',
      pod: pod({ volumes: [hostPath] }),
      node: realNode('aci-connector'),
    },
    {
      name: 'remaining cores hold the pod exactly (0.1 + 0.2 cores)',
      pod: pod({ cpu: ['100m', '200m'] }),
      node: virtualNode({ [REMAINING_CORES_ANNOTATION]: '0.3' }),
    },
    {
      name: 'remaining cores too few',
      pod: pod({ cpu: ['1', '1500m'] }),
      node: virtualNode({ [REMAINING_CORES_ANNOTATION]: '2' }),
      code: 'quota-cores',
      reason: /needs 2\.5 cores .* has 2 left/,
      resolvable: true,
    },
    {
      name: 'a container without requests counts as one core, as the connector creates it',
      pod: { ...pod(), spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
      node: virtualNode({ [REMAINING_CORES_ANNOTATION]: '0.5' }),
      code: 'quota-cores',
    },
    {
      name: 'no container group left',
      pod: pod(),
      node: virtualNode({ [REMAINING_GROUPS_ANNOTATION]: '0', [REMAINING_CORES_ANNOTATION]: '100' }),
      code: 'quota-groups',
      resolvable: true,
    },
    {
      name: 'one container group left',
      pod: pod(),
      node: virtualNode({ [REMAINING_GROUPS_ANNOTATION]: '1' }),
    },
    {
      name: 'unreadable quota annotations are ignored',
      pod: pod(),
      node: virtualNode({ [REMAINING_GROUPS_ANNOTATION]: 'lots', [REMAINING_CORES_ANNOTATION]: '' }),
    },
    {
      name: 'ACI capability is checked before quota',
      pod: pod({ volumes: [hostPath] }),
      node: virtualNode({ [REMAINING_GROUPS_ANNOTATION]: '0' }),
      code: 'unsupported',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const verdict = filterNode(podContext(c.pod, checkPod(c.pod)), c.node);
      if (c.code === undefined) {
        assert.deepEqual(verdict, { pass: true });
        return;
      }
      assert.equal(verdict.pass, false);
      assert.equal(verdict.code, c.code);
      if (c.reason) assert.match(verdict.reason, c.reason);
      if (c.resolvable !== undefined) assert.equal(verdict.resolvable, c.resolvable);
    });
  }

  it('ignores problems that are only missing references', () => {
    const verdict = filterNode(
      podContext(pod(), [
        {
          path: 'spec.volumes[0].secret',
          message: 'secret "tls" does not exist',
          fix: 'create it',
          kind: 'missing-reference',
        },
      ]),
      virtualNode(),
    );
    assert.deepEqual(verdict, { pass: true });
  });

  it('names every unsupported field in one reason', () => {
    const twoVolumes = pod({
      volumes: [hostPath, { name: 'docker', hostPath: { path: '/var/run/docker.sock' } }],
    });
    const verdict = filterNode(podContext(twoVolumes, checkPod(twoVolumes)), virtualNode());
    assert.equal(verdict.pass, false);
    assert.match(verdict.reason, /spec\.volumes\[0\]\.hostPath/);
    assert.match(verdict.reason, /spec\.volumes\[1\]\.hostPath/);
  });

  it('names a few problems of a pod with thousands and counts the rest, whatever the node count', () => {
    const volumes = Array.from({ length: 5000 }, (_, index) => ({ ...hostPath, name: `v${index}` }));
    const many = pod({ volumes });
    const verdict = filterNode(podContext(many, checkPod(many)), virtualNode());
    assert.equal(verdict.pass, false);
    assert.equal(verdict.reason.split('\n').length, MAX_REASON_PROBLEMS + 1);
    assert.match(verdict.reason, /\.\.\. and \d+ more problems$/);
  });
});

describe('unknownNodeVerdict', () => {
  it('fails the node with a resolvable reason naming it', () => {
    const verdict = unknownNodeVerdict('worker-9');
    assert.equal(verdict.pass, false);
    assert.equal(verdict.code, 'unknown-node');
    assert.match(verdict.reason, /"worker-9"/);
    assert.equal(verdict.resolvable, true);
  });

  it('does not repeat a name longer than a node name can be (found by npm run fuzz)', () => {
    const verdict = unknownNodeVerdict('x'.repeat(1_000_000));
    assert.equal(verdict.pass, false);
    assert.ok(verdict.reason.length < 400, `${verdict.reason.length} characters`);
  });
});

describe('podPreference', () => {
  const preferring: V1Namespace = {
    metadata: { name: 'shop', annotations: { 'azure.com/aci-preference': 'prefer' } },
  };
  const plain: V1Namespace = { metadata: { name: 'shop' } };
  const cases: { name: string; pod: V1Pod; namespace: V1Namespace | undefined; expected: Preference }[] = [
    { name: 'no annotation anywhere', pod: pod(), namespace: plain, expected: 'real-first' },
    { name: 'namespace unknown', pod: pod(), namespace: undefined, expected: 'real-first' },
    { name: 'namespace prefers ACI', pod: pod(), namespace: preferring, expected: 'prefer-aci' },
    {
      name: 'pod prefers ACI',
      pod: pod({ annotations: { 'azure.com/aci-preference': 'prefer' } }),
      namespace: plain,
      expected: 'prefer-aci',
    },
    {
      name: 'a pod annotation overrides its namespace',
      pod: pod({ annotations: { 'azure.com/aci-preference': 'real-first' } }),
      namespace: preferring,
      expected: 'real-first',
    },
    {
      name: 'values are exact',
      pod: pod({ annotations: { 'azure.com/aci-preference': 'Prefer' } }),
      namespace: plain,
      expected: 'real-first',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(podPreference(c.pod, c.namespace), c.expected);
    });
  }
});

describe('scoreNodes', () => {
  const left = (groups: number, cores: number): V1Node =>
    virtualNode({
      [REMAINING_GROUPS_ANNOTATION]: String(groups),
      [REMAINING_CORES_ANNOTATION]: String(cores),
    });
  const cases: { name: string; nodes: V1Node[]; preference: Preference; expected: number[] }[] = [
    { name: 'a real node, real first', nodes: [realNode()], preference: 'real-first', expected: [10] },
    { name: 'a real node, ACI preferred', nodes: [realNode()], preference: 'prefer-aci', expected: [0] },
    { name: 'one virtual node, real first', nodes: [virtualNode()], preference: 'real-first', expected: [2] },
    {
      name: 'one virtual node, ACI preferred',
      nodes: [virtualNode()],
      preference: 'prefer-aci',
      expected: [10],
    },
    {
      name: 'real first: real nodes above every virtual node, virtual ones by quota left',
      nodes: [realNode(), left(100, 400), left(25, 400)],
      preference: 'real-first',
      expected: [10, 2, 1],
    },
    {
      name: 'ACI preferred: the node with the most left first, a used-up one last in its band',
      nodes: [left(40, 100), left(100, 100), left(0, 0), realNode()],
      preference: 'prefer-aci',
      expected: [7, 10, 5, 0],
    },
    {
      name: 'cores count as much as groups: the scarcer one decides',
      nodes: [left(100, 10), left(50, 100)],
      preference: 'prefer-aci',
      expected: [6, 8],
    },
    {
      name: 'a node without annotations counts as having the most left',
      nodes: [virtualNode(), left(10, 10)],
      preference: 'prefer-aci',
      expected: [10, 10],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(scoreNodes(c.nodes, c.preference), c.expected);
    });
  }
  it('a node the cache does not know scores 0', () => {
    assert.deepEqual(scoreNodes([undefined, realNode()], 'real-first'), [0, 10]);
  });
});
