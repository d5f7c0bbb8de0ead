import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import fastJsonPatch from 'fast-json-patch';
import {
  ACI_ANNOTATIONS,
  ACI_TOLERATION,
  checkPod,
  PLACEMENT_LABEL,
  type Problem,
} from '../contract/index.ts';
import { fixturePod } from '../test/fixtures/admission/load.ts';
import {
  decide,
  MAX_WARNING_LENGTH,
  needsReferencedObjects,
  notBurstingWarnings,
  publicIPWarnings,
  steerToAci,
  steeringPatch,
  type Outcome,
  type PodChecker,
  type WebhookEntry,
  withConnectorSuppliedValues,
} from './decision.ts';

const nginx = fixturePod('deployment-pod-create');

function labelled(pod: V1Pod, placement: string | undefined): V1Pod {
  const copy = structuredClone(pod);
  const { [PLACEMENT_LABEL]: _previous, ...labels } = copy.metadata?.labels ?? {};
  copy.metadata = {
    ...copy.metadata,
    labels: placement === undefined ? labels : { ...labels, [PLACEMENT_LABEL]: placement },
  };
  return copy;
}

const hostPathProblem: Problem = {
  path: 'spec.volumes[0].hostPath',
  message: 'volume "varlog" mounts a path of the host, and an ACI container group has no host to share',
  fix: 'use an emptyDir, configMap, secret or azureFile volume instead',
  kind: 'unsupported',
};
const missingSecret: Problem = {
  path: 'spec.containers[0].envFrom[0].secretRef',
  message: 'Secret "shipper-credentials" does not exist',
  fix: 'create the Secret first',
  kind: 'missing-reference',
};
const runnable: PodChecker = () => [];
const unrunnable: PodChecker = () => [hostPathProblem];
const unrunnableWhenReferencesRead: PodChecker = (_pod, objects) => (objects ? [missingSecret] : []);

function tolerations(pod: V1Pod): number {
  return (pod.spec?.tolerations ?? []).filter((toleration) => toleration.key === ACI_TOLERATION.key).length;
}

describe('decide: entry x pod label x capability', () => {
  const objects = { configMaps: new Map(), secrets: new Map(), serviceAccount: undefined };
  const table: { entry: WebhookEntry; placement: string | undefined; check: PodChecker; outcome: Outcome }[] =
    [
      { entry: 'burst', placement: undefined, check: runnable, outcome: 'steered' },
      { entry: 'burst', placement: undefined, check: unrunnable, outcome: 'not-steered' },
      { entry: 'burst', placement: 'never', check: runnable, outcome: 'ignored' },
      { entry: 'burst', placement: 'never', check: unrunnable, outcome: 'ignored' },
      { entry: 'burst', placement: 'required', check: runnable, outcome: 'steered' },
      { entry: 'burst', placement: 'required', check: unrunnable, outcome: 'denied' },
      { entry: 'burst', placement: 'something-else', check: runnable, outcome: 'steered' },
      { entry: 'required', placement: 'required', check: runnable, outcome: 'steered' },
      { entry: 'required', placement: 'required', check: unrunnable, outcome: 'denied' },
      { entry: 'required', placement: 'required', check: unrunnableWhenReferencesRead, outcome: 'denied' },
      { entry: 'required', placement: 'never', check: unrunnable, outcome: 'ignored' },
      { entry: 'required', placement: undefined, check: runnable, outcome: 'ignored' },
      { entry: 'required', placement: undefined, check: unrunnable, outcome: 'ignored' },
    ];
  for (const row of table) {
    it(`${row.entry} entry, label ${row.placement ?? '(none)'}, ${row.check.name} -> ${row.outcome}`, () => {
      const pod = labelled(nginx, row.placement);
      const verdict = decide({ entry: row.entry, pod, objects }, row.check);
      assert.equal(verdict.outcome, row.outcome);
      if (!verdict.allowed) return;
      const result = fastJsonPatch.applyPatch(structuredClone(pod), verdict.patch).newDocument;
      assert.equal(tolerations(result), row.outcome === 'steered' ? 1 : 0);
      assert.equal(verdict.warnings.length, row.outcome === 'not-steered' ? 1 : 0);
    });
  }

  it('denies with every problem on its own line: path, what is wrong, what to do', () => {
    const verdict = decide({ entry: 'required', pod: labelled(nginx, 'required'), objects }, () => [
      hostPathProblem,
      missingSecret,
    ]);
    assert.equal(verdict.allowed, false);
    assert.equal(
      verdict.message,
      'the pod is labelled azure.com/aci=required but Azure Container Instances cannot run it (2 problems):\n' +
        'spec.volumes[0].hostPath: volume "varlog" mounts a path of the host, and an ACI container group has no host to share; use an emptyDir, configMap, secret or azureFile volume instead\n' +
        'spec.containers[0].envFrom[0].secretRef: Secret "shipper-credentials" does not exist; create the Secret first',
    );
  });

  it('checks burst pods on their spec alone, required pods with their referenced objects', () => {
    const seen: boolean[] = [];
    const recording: PodChecker = (_pod, given) => {
      seen.push(given !== undefined);
      return [];
    };
    decide({ entry: 'burst', pod: nginx, objects }, recording);
    decide({ entry: 'required', pod: labelled(nginx, 'required'), objects }, recording);
    assert.deepEqual(seen, [false, true]);
    assert.equal(needsReferencedObjects(nginx), false);
    assert.equal(needsReferencedObjects(labelled(nginx, 'required')), true);
  });

  it('uses the real capability check: a hostPath pod does not burst, the nginx pod does', () => {
    const hostPath = labelled(fixturePod('required-hostpath-pod-create'), undefined);
    assert.equal(decide({ entry: 'burst', pod: hostPath }, checkPod).outcome, 'not-steered');
    assert.equal(decide({ entry: 'burst', pod: nginx }, checkPod).outcome, 'steered');
    assert.equal(
      decide({ entry: 'required', pod: fixturePod('required-hostpath-pod-create') }, checkPod).outcome,
      'denied',
    );
  });
});

describe('Azure identities at admission', () => {
  const annotated = (value: string): V1Pod => {
    const pod = labelled(nginx, 'required');
    return { ...pod, metadata: { ...pod.metadata, annotations: { [ACI_ANNOTATIONS.identities]: value } } };
  };
  const valid =
    '/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shop';

  it('denies a required pod naming something that is no identity resource ID, with the field path', () => {
    const verdict = decide({ entry: 'required', pod: annotated('shop-identity') }, checkPod);
    assert.equal(verdict.outcome, 'denied');
    assert.match(
      verdict.message,
      /metadata\.annotations\['azure\.com\/aci-identities'\]: entry 1 \("shop-identity"\) is not a user-assigned managed identity's resource ID/,
    );
  });

  it('steers a required pod naming a user-assigned identity', () => {
    assert.equal(decide({ entry: 'required', pod: annotated(valid) }, checkPod).outcome, 'steered');
  });
});

describe('steerToAci', () => {
  it('adds the toleration after the defaults and leaves the input untouched', () => {
    const before = structuredClone(nginx);
    const steered = steerToAci(nginx, undefined);
    assert.deepEqual(nginx, before);
    assert.deepEqual(steered.spec?.tolerations?.at(-1), ACI_TOLERATION);
    assert.equal(steered.spec.tolerations.length, 3);
    assert.equal(steered.spec.schedulerName, 'default-scheduler');
  });

  it('is idempotent: its patch applied to its own output changes nothing', () => {
    const first = decide({ entry: 'burst', pod: nginx, schedulerName: 'aci-burst-scheduler' }, runnable);
    assert.ok(first.allowed);
    assert.deepEqual(first.patch, [
      { op: 'add', path: '/spec/tolerations/2', value: ACI_TOLERATION },
      { op: 'replace', path: '/spec/schedulerName', value: 'aci-burst-scheduler' },
    ]);
    const once = fastJsonPatch.applyPatch(structuredClone(nginx), first.patch).newDocument;
    const again = decide(
      { entry: 'required', pod: labelled(once, 'required'), schedulerName: 'aci-burst-scheduler' },
      runnable,
    );
    assert.ok(again.allowed);
    assert.deepEqual(again.patch, []);
  });

  const schedulerCases: {
    name: string;
    current: string | undefined;
    configured: string | undefined;
    expected: string | undefined;
  }[] = [
    { name: 'API-server default replaced', current: 'default-scheduler', configured: 'aci', expected: 'aci' },
    { name: 'unset replaced', current: undefined, configured: 'aci', expected: 'aci' },
    { name: 'user choice kept', current: 'gpu-scheduler', configured: 'aci', expected: 'gpu-scheduler' },
    {
      name: 'nothing configured',
      current: 'default-scheduler',
      configured: undefined,
      expected: 'default-scheduler',
    },
  ];
  for (const c of schedulerCases) {
    it(`schedulerName: ${c.name}`, () => {
      const pod = structuredClone(nginx);
      if (pod.spec) pod.spec.schedulerName = c.current;
      assert.equal(steerToAci(pod, c.configured).spec?.schedulerName, c.expected);
    });
  }

  it('creates the tolerations list on a pod without one', () => {
    const pod: V1Pod = {
      metadata: { name: 'bare' },
      spec: { containers: [{ name: 'app', image: 'nginx' }] },
    };
    const verdict = decide({ entry: 'burst', pod }, runnable);
    assert.ok(verdict.allowed);
    assert.deepEqual(verdict.patch, [{ op: 'add', path: '/spec/tolerations', value: [ACI_TOLERATION] }]);
  });
});

describe('notBurstingWarnings', () => {
  it('keeps every warning under 120 characters and counts what it leaves out', () => {
    const many = Array.from({ length: 5 }, (_, index) => ({
      ...hostPathProblem,
      path: `spec.volumes[${index}].hostPath`,
    }));
    const warnings = notBurstingWarnings(many);
    assert.equal(warnings.length, 4);
    assert.ok(
      warnings.every((warning) => warning.length <= MAX_WARNING_LENGTH),
      warnings.join('\n'),
    );
    assert.match(
      warnings[0] ?? '',
      /^will not burst to ACI: spec\.volumes\[0\]\.hostPath: volume "varlog" mounts/,
    );
    assert.equal(warnings[3], 'will not burst to ACI: 2 more problems');
  });
});

describe('withConnectorSuppliedValues', () => {
  const rootCa = new Map([['kube-root-ca.crt', { data: { 'ca.crt': 'PEM' } }]]);
  const table: { name: string; serviceAccount: boolean; problems: RegExp[] }[] = [
    { name: 'tokens and CA stood in when the ServiceAccount exists', serviceAccount: true, problems: [] },
    {
      name: 'no stand-in without the ServiceAccount, so its absence is reported',
      serviceAccount: false,
      problems: [/ServiceAccount "default" does not exist/],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const objects = {
        configMaps: rootCa,
        secrets: new Map(),
        serviceAccount: row.serviceAccount ? { metadata: { name: 'default' } } : undefined,
      };
      const problems = checkPod(nginx, withConnectorSuppliedValues(nginx, objects));
      assert.equal(problems.length, row.problems.length, JSON.stringify(problems));
      row.problems.forEach((pattern, index) => {
        assert.match(problems[index]?.message ?? '', pattern);
      });
    });
  }
});

describe('publicIPWarnings', () => {
  const web = (annotations: Record<string, string>, ports = [80, 443]): V1Pod => ({
    metadata: { name: 'web', namespace: 'shop', annotations },
    spec: {
      containers: [{ name: 'web', image: 'nginx', ports: ports.map((containerPort) => ({ containerPort })) }],
    },
  });
  const asks = { [ACI_ANNOTATIONS.publicIP]: 'true' };
  const declines = { [ACI_ANNOTATIONS.publicIP]: 'false' };
  const cases: {
    name: string;
    pod: V1Pod;
    exposure: { subnet: boolean; exposePortsPublicly: boolean };
    warned: boolean;
  }[] = [
    {
      name: 'asked, no subnet',
      pod: web(asks),
      exposure: { subnet: false, exposePortsPublicly: false },
      warned: true,
    },
    {
      name: 'a DNS label, no subnet',
      pod: web({ [ACI_ANNOTATIONS.dnsNameLabel]: 'shop' }),
      exposure: { subnet: false, exposePortsPublicly: false },
      warned: true,
    },
    {
      name: 'not asked, no subnet',
      pod: web({}),
      exposure: { subnet: false, exposePortsPublicly: false },
      warned: false,
    },
    {
      name: 'not asked, public by default',
      pod: web({}),
      exposure: { subnet: false, exposePortsPublicly: true },
      warned: true,
    },
    {
      name: 'declined, public by default',
      pod: web(declines),
      exposure: { subnet: false, exposePortsPublicly: true },
      warned: false,
    },
    {
      name: 'asked, in a subnet',
      pod: web(asks),
      exposure: { subnet: true, exposePortsPublicly: true },
      warned: false,
    },
    {
      name: 'no ports, public by default',
      pod: web({}, []),
      exposure: { subnet: false, exposePortsPublicly: true },
      warned: false,
    },
  ];
  for (const row of cases) {
    it(`${row.warned ? 'warns' : 'stays quiet'}: ${row.name}`, () => {
      const warnings = publicIPWarnings({ pod: row.pod, exposure: row.exposure });
      assert.equal(warnings.length, row.warned ? 1 : 0);
      if (row.warned)
        assert.match(warnings[0] ?? '', /public IP: ports 80, 443 are reachable from the internet/);
    });
  }

  it('reaches the verdict of a steered pod', () => {
    const verdict = decide(
      { entry: 'burst', pod: web(asks), exposure: { subnet: false, exposePortsPublicly: false } },
      runnable,
    );
    assert.ok(verdict.allowed);
    assert.equal(verdict.warnings.length, 1);
  });
});

describe('steeringPatch', () => {
  const toleration = { key: 'other', operator: 'Exists' };
  const cases: { name: string; pod: V1Pod; scheduler: string | undefined }[] = [
    {
      name: 'no tolerations, no scheduler',
      pod: { spec: { containers: [] } },
      scheduler: 'aci-burst-scheduler',
    },
    {
      name: 'other tolerations',
      pod: { spec: { containers: [], tolerations: [toleration] } },
      scheduler: undefined,
    },
    {
      name: 'already tolerating, the default scheduler named',
      pod: { spec: { containers: [], tolerations: [ACI_TOLERATION], schedulerName: 'default-scheduler' } },
      scheduler: 'aci-burst-scheduler',
    },
    {
      name: 'a scheduler of its own',
      pod: { spec: { containers: [], schedulerName: 'mine' } },
      scheduler: 'aci-burst-scheduler',
    },
    { name: 'no spec at all', pod: { metadata: { name: 'x' } }, scheduler: 'aci-burst-scheduler' },
  ];
  for (const c of cases) {
    it(`equals the diff to steerToAci's pod: ${c.name}`, () => {
      const patch = steeringPatch(c.pod, c.scheduler);
      assert.deepEqual(fastJsonPatch.compare(c.pod, steerToAci(c.pod, c.scheduler)), patch);
      assert.deepEqual(
        fastJsonPatch.applyPatch(structuredClone(c.pod), patch).newDocument,
        steerToAci(c.pod, c.scheduler),
      );
    });
  }
});
