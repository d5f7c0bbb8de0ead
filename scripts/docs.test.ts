import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readConfig as readConnectorConfig } from '../connector/config.ts';
import {
  ACI_ANNOTATIONS,
  CONTAINER_REFUSALS,
  IMAGE_DEPENDENT_FIELDS,
  POD_REFUSALS,
} from '../contract/index.ts';
import { readConfig } from '../extender/config.ts';
import { readConfig as readWebhookConfig } from '../webhook/config.ts';
import {
  anchorOf,
  brokenLinks,
  fill,
  generatedPages,
  PROCESS_ENVIRONMENTS,
  refusalRows,
  table,
  unlinkedPages,
} from './docs.ts';

const root = new URL('../', import.meta.url);
const page = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** The part of a page under `## <title>`, up to the next heading of that level. */
function sectionOf(text: string, title: string): string {
  const start = text.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `## ${title}`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The heading of a process's section on the configuration page. */
const title = (process: string): string => `${process.charAt(0).toUpperCase()}${process.slice(1)}`;

describe('the generated pages', () => {
  it('are what the generator makes from the code today (npm run docs)', () => {
    for (const [path, text] of generatedPages(new URL('.', root).pathname))
      assert.equal(page(path), text, `${path} is stale: run npm run docs`);
  });

  const podFields = page('docs/pod-fields.md');
  for (const refusal of [...POD_REFUSALS, ...CONTAINER_REFUSALS]) {
    it(`shows users the message for ${refusal.field}`, () => {
      assert.ok(
        podFields.includes(`\`${refusal.field}\``) || podFields.includes(`\`spec.${refusal.field}\``),
      );
      assert.ok(podFields.includes(`${refusal.message}; ${refusal.fix}`), refusal.message);
    });
  }
  for (const entry of IMAGE_DEPENDENT_FIELDS) {
    it(`says how the connector decides ${entry.field} from the image`, () => {
      assert.ok(podFields.includes(`\`${entry.field}\``), entry.field);
      assert.ok(podFields.includes(entry.decision), entry.decision);
    });
  }
  it('documents every ACI annotation', () => {
    const section = sectionOf(podFields, 'ACI annotations');
    for (const annotation of Object.values(ACI_ANNOTATIONS))
      assert.ok(section.includes(`\`${annotation}\``), annotation);
  });

  const configuration = page('docs/configuration.md');
  for (const [process, environment] of Object.entries(PROCESS_ENVIRONMENTS)) {
    it(`lists every variable of the ${process}'s table in its section`, () => {
      const section = sectionOf(configuration, title(process));
      const missing = Object.keys(environment).filter((name) => !section.includes(`| \`${name}\` |`));
      assert.deepEqual(missing, []);
    });
  }

  // A variable read but missing from ENVIRONMENT would be missing from the page: record what each
  // parser reads from an environment that has every name.
  const parsers: Record<string, (env: Record<string, string | undefined>) => unknown> = {
    connector: readConnectorConfig,
    webhook: readWebhookConfig,
    extender: readConfig,
  };
  for (const [process, parse] of Object.entries(parsers)) {
    it(`names every variable the ${process} reads on the page`, () => {
      const read = new Set<string>();
      parse(
        new Proxy<Record<string, string | undefined>>(
          {},
          {
            get: (_, name) => {
              if (typeof name === 'string') read.add(name);
              return undefined;
            },
          },
        ),
      );
      const section = sectionOf(configuration, title(process));
      const unnamed = [...read].filter((name) => !new RegExp(`\\b${name}\\b`).test(section));
      assert.deepEqual(unnamed, []);
    });
  }
});

describe('table', () => {
  it('pads nothing and escapes what would end a cell', () => {
    assert.equal(table(['a', 'b'], [['`x`', 'p | q\nr']]), '| a | b |\n| --- | --- |\n| `x` | p \\| q r |');
  });
});

describe('refusalRows', () => {
  const refusal = (field: string, extra: object = {}) => ({
    field,
    message: `no ${field}`,
    fix: 'remove it',
    ...extra,
  });
  it('prefixes pod fields with spec., names the fields a rule shares, and the value still accepted', () => {
    const rows = refusalRows(
      [refusal('hostname', { alsoFields: ['hostnameOverride'] }), refusal('os', { accepted: 'linux' })],
      [refusal('tty')],
    );
    assert.deepEqual(rows, {
      pod: [
        ['`spec.hostname`, `hostnameOverride`', 'refused: no hostname; remove it'],
        ['`spec.os`', 'refused unless `linux`: no os; remove it'],
      ],
      container: [['`tty`', 'refused: no tty; remove it']],
    });
  });
  it('shows a refusal pods and containers share once', () => {
    const rows = refusalRows([refusal('securityContext.x')], [refusal('securityContext.x')]);
    assert.deepEqual(rows, {
      pod: [['`securityContext.x` (pod or container)', 'refused: no securityContext.x; remove it']],
      container: [],
    });
  });
});

describe('fill', () => {
  const cases: { name: string; template: string; values: [string, string][]; result: string | RegExp }[] = [
    {
      name: 'replaces block and inline placeholders',
      template: 'a {{x}} b\n<!-- generated:t -->\nc',
      values: [
        ['x', 'X'],
        ['t', '| T |'],
      ],
      result: 'a X b\n| T |\nc',
    },
    { name: 'refuses a placeholder nothing fills', template: '{{y}}', values: [], result: /asks for "y"/ },
    { name: 'refuses a value nothing shows', template: 'a', values: [['x', 'X']], result: /does not show x/ },
  ];
  for (const { name, template, values, result } of cases) {
    it(name, () => {
      if (typeof result === 'string') assert.equal(fill(template, new Map(values)), result);
      else assert.throws(() => fill(template, new Map(values)), result);
    });
  }
});

describe('links', () => {
  it('makes GitHub’s anchors', () => {
    assert.equal(
      anchorOf('Upgrading an install from 0.1: breaking changes'),
      'upgrading-an-install-from-01-breaking-changes',
    );
    assert.equal(
      anchorOf('The loopback OCI registry (`test/emulator/registry.ts`)'),
      'the-loopback-oci-registry-testemulatorregistryts',
    );
  });

  const files = new Map([
    ['README.md', '[a](docs/a.md) [b](docs/a.md#two) [c](docs/a.md#three) [x](https://example.com/y.md#z)'],
    [
      'docs/a.md',
      '# One\n\n## Two\n\n[up](../README.md) [code](../scripts/docs.ts) [gone](gone.md) [here](#one)\n\n```\n[no](fenced.md)\n```\n`[no](code.md)`',
    ],
  ]);
  it('finds a missing file or heading, and only those', () => {
    assert.deepEqual(
      brokenLinks(files, (path) => path === 'scripts/docs.ts'),
      [
        'README.md:1: docs/a.md#three: docs/a.md has no heading #three',
        'docs/a.md:5: gone.md names docs/gone.md, which does not exist',
      ],
    );
  });
  it('finds docs pages the README does not link', () => {
    assert.deepEqual(unlinkedPages(files.get('README.md') ?? '', ['docs/a.md', 'docs/b.md']), ['docs/b.md']);
  });
});
