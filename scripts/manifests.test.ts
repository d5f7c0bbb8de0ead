import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADER, splitRendered, templateOrder } from './manifests.ts';

const template = [
  '# The file: what it installs.',
  'apiVersion: v1',
  'kind: ServiceAccount',
  'metadata:',
  '  name: {{ $s.name }}',
  '---',
  'apiVersion: rbac.authorization.k8s.io/v1',
  'kind: RoleBinding',
  'metadata:',
  '  name: {{ $s.name }}-first',
  '---',
  'apiVersion: rbac.authorization.k8s.io/v1',
  'kind: RoleBinding',
  'metadata:',
  '  name: {{ $s.name }}-second',
  '---',
  'apiVersion: admissionregistration.k8s.io/v1',
  'kind: MutatingWebhookConfiguration',
  'metadata:',
  '  name: hook',
].join('\n');

const document = (kind: string, name: string, comment = ''): string =>
  `---\n# Source: aci-burst/templates/a.yaml\n${comment}apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  labels:\n    app.kubernetes.io/name: x\n    app.kubernetes.io/managed-by: Helm\n    app.kubernetes.io/instance: aci-burst\n    helm.sh/chart: aci-burst-0.1.0\n`;

/** What helm prints: sorted by kind, so the file's comment is not first. */
const rendered = [
  document('RoleBinding', 'sched-second'),
  document('ServiceAccount', 'sched', '# The file: what it installs.\n'),
  document('RoleBinding', 'sched-first'),
  document('MutatingWebhookConfiguration', 'hook'),
].join('');

const destinations = [
  { file: 'hook.yaml', template: 'a.yaml', kind: 'MutatingWebhookConfiguration' },
  { file: 'a.yaml', template: 'a.yaml' },
];
const templates = new Map([['a.yaml', template]]);

describe('templateOrder', () => {
  it('lists kinds and name patterns in the order the template writes them', () => {
    const order = templateOrder(template);
    assert.deepEqual(
      order.map((object) => object.kind),
      ['ServiceAccount', 'RoleBinding', 'RoleBinding', 'MutatingWebhookConfiguration'],
    );
    assert.ok(order[2]?.name.test('aci-burst-scheduler-second'));
    assert.ok(!order[2]?.name.test('aci-burst-scheduler-first'));
  });
});

describe('splitRendered', () => {
  const files = splitRendered(rendered, destinations, templates);

  it('routes objects by template and kind, in the template’s order, without Helm release labels', () => {
    const names = (text: string | undefined): string[] =>
      [...(text ?? '').matchAll(/^ {2}name: (\S+)$/gm)].map((match) => match[1] ?? '');
    assert.deepEqual(names(files.get('a.yaml')), ['sched', 'sched-first', 'sched-second']);
    assert.deepEqual(names(files.get('hook.yaml')), ['hook']);
    const text = files.get('a.yaml') ?? '';
    assert.ok(text.startsWith(`${HEADER}# The file: what it installs.\n`), 'the file’s comment comes first');
    assert.doesNotMatch(text, /managed-by|instance|helm\.sh|# Source/);
    assert.match(text, /app\.kubernetes\.io\/name: x/);
  });

  const failures: { name: string; output: string; pattern: RegExp }[] = [
    {
      name: 'an object whose template has no destination',
      output: document('Service', 'x').replace('templates/a.yaml', 'templates/b.yaml'),
      pattern: /no destination for Service of b\.yaml/,
    },
    {
      name: 'an object the template does not write',
      output: rendered + document('Service', 'x'),
      pattern: /Service x is not where a\.yaml writes it/,
    },
    {
      name: 'a destination left empty',
      output: document('ServiceAccount', 'sched'),
      pattern: /rendered nothing for hook\.yaml/,
    },
  ];
  for (const { name, output, pattern } of failures) {
    it(`refuses ${name}`, () => {
      assert.throws(() => splitRendered(output, destinations, templates), pattern);
    });
  }
});
