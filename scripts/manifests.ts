// One definition of each installed object: the Helm chart (manifests/charts/aci-burst). The raw
// manifests that `kubectl apply -k manifests/` installs are the chart rendered with its default values
// by the helm this project builds (scripts/helm), without the labels only a Helm release carries, and
// formatted by Prettier. `npm run manifests` writes them; `npm run manifests -- --check` renders and
// fails when a committed file differs (test/e2e/manifests.test.ts checks the same on every `npm test`).
// manifests/namespace.yaml (Helm creates the namespace) and connector/azure-secret.example.yaml (a
// filled-in example, where the chart builds the Secret from values) are the only hand-written ones.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import prettier from 'prettier';
import { buildHelm } from './helm/build.ts';

/** Where each rendered object goes: by the template that made it, and optionally by its kind. */
export interface Destination {
  file: string;
  template: string;
  kind?: string;
}

/** The files the kustomization lists, and the optional NetworkPolicy beside them. */
export const DESTINATIONS: readonly Destination[] = [
  { file: 'manifests/connector/connector.yaml', template: 'connector.yaml' },
  { file: 'manifests/connector/opt-in-policy.yaml', template: 'opt-in-policy.yaml' },
  {
    file: 'manifests/webhook/mutatingwebhookconfiguration.yaml',
    template: 'webhook.yaml',
    kind: 'MutatingWebhookConfiguration',
  },
  { file: 'manifests/webhook/webhook.yaml', template: 'webhook.yaml' },
  { file: 'manifests/webhook/networkpolicy.yaml', template: 'webhook-networkpolicy.yaml' },
  { file: 'manifests/extender/extender.yaml', template: 'extender.yaml' },
  { file: 'manifests/extender/scheduler.yaml', template: 'scheduler.yaml' },
];

export const CHART = 'manifests/charts/aci-burst';
export const RELEASE = 'aci-burst';
export const NAMESPACE = 'aci-burst-system';
/** The defaults, plus the NetworkPolicy the chart leaves off by default (its file is not in the kustomization). */
const VALUES = ['webhook.networkPolicy.enabled=true'];

export const HEADER =
  '# Generated from the Helm chart manifests/charts/aci-burst by scripts/manifests.ts: edit the chart,\n' +
  '# then run npm run manifests.\n';

/** Labels that name a Helm release, which a kubectl install is not. */
const RELEASE_LABEL =
  /^\s+(app\.kubernetes\.io\/managed-by: Helm|app\.kubernetes\.io\/instance: \S+|helm\.sh\/chart: \S+)$/;

/**
 * The objects of a template in the order it writes them, as kind and a name pattern (`{{ ... }}`
 * matches anything): helm sorts its output by kind, which would put a file's opening comment, the
 * one that explains the file, in the middle of it.
 */
export function templateOrder(template: string): { kind: string; name: RegExp }[] {
  const objects: { kind: string; name: RegExp }[] = [];
  for (const match of template.matchAll(/^kind: (\S+)\nmetadata:\n {2}name: (.+)$/gm)) {
    const parts = (match[2] ?? '')
      .split(/\{\{.*?\}\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    objects.push({ kind: match[1] ?? '', name: new RegExp(`^${parts.join('.*')}$`) });
  }
  return objects;
}

interface Rendered {
  file: string;
  position: number;
  text: string;
}

/**
 * `helm template` output -> file -> its text (before formatting), each file's objects in the order of
 * its template (`templates`: name -> source). Every document must find a destination, so an object
 * added to a template cannot be left out of the raw manifests unnoticed.
 */
export function splitRendered(
  output: string,
  destinations: readonly Destination[],
  templates: ReadonlyMap<string, string>,
): Map<string, string> {
  const rendered: Rendered[] = [];
  const taken = new Set<string>();
  for (const document of output.split(/^---\s*$/m)) {
    const source = /^# Source: [^/]+\/templates\/(\S+)$/m.exec(document)?.[1];
    if (source === undefined) {
      if (document.trim() === '') continue;
      throw new Error(`a rendered document names no template:\n${document.slice(0, 200)}`);
    }
    const kind = /^kind: (\S+)$/m.exec(document)?.[1];
    const name = /^metadata:\n {2}name: (\S+)$/m.exec(document)?.[1] ?? '';
    const destination = destinations.find(
      (candidate) =>
        candidate.template === source && (candidate.kind === undefined || candidate.kind === kind),
    );
    if (destination === undefined) throw new Error(`no destination for ${kind ?? 'an object'} of ${source}`);
    const position = templateOrder(templates.get(source) ?? '').findIndex(
      (object, index) => object.kind === kind && object.name.test(name) && !taken.has(`${source}#${index}`),
    );
    if (position < 0) throw new Error(`${kind ?? ''} ${name} is not where ${source} writes it`);
    taken.add(`${source}#${position}`);
    const text = document
      .split('\n')
      .filter((line) => !line.startsWith('# Source: ') && !RELEASE_LABEL.test(line))
      .join('\n')
      .trim();
    rendered.push({ file: destination.file, position, text });
  }
  const files = new Map<string, string>();
  for (const { file } of destinations) {
    const documents = rendered
      .filter((document) => document.file === file)
      .sort((a, b) => a.position - b.position)
      .map((document) => document.text);
    if (documents.length === 0) throw new Error(`the chart rendered nothing for ${file}`);
    files.set(file, `${HEADER}${documents.join('\n---\n')}\n`);
  }
  return files;
}

/** The raw manifests as the chart renders them today: file (relative to the root) -> text. */
export async function renderManifests(helm: string, root: string): Promise<Map<string, string>> {
  const { stdout } = await promisify(execFile)(
    helm,
    [
      'template',
      RELEASE,
      join(root, CHART),
      '--namespace',
      NAMESPACE,
      ...VALUES.flatMap((value) => ['--set', value]),
    ],
    { maxBuffer: 32 * 1024 * 1024 },
  );
  const options = { ...(await prettier.resolveConfig(join(root, 'manifests', 'x.yaml'))), parser: 'yaml' };
  const templates = new Map(
    DESTINATIONS.map(({ template }) => [
      template,
      readFileSync(join(root, CHART, 'templates', template), 'utf8'),
    ]),
  );
  const files = new Map<string, string>();
  for (const [file, text] of splitRendered(stdout, DESTINATIONS, templates))
    files.set(file, await prettier.format(text, options));
  return files;
}

async function main(argv: readonly string[]): Promise<number> {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const helm = await buildHelm({
    repoRoot: root,
    env: process.env,
    home: homedir(),
    report: (line) => process.stderr.write(`[helm] ${line}\n`),
  });
  const stale: string[] = [];
  for (const [file, text] of await renderManifests(helm, root)) {
    if (readFileSync(join(root, file), 'utf8') === text) continue;
    if (argv.includes('--check')) stale.push(file);
    else {
      writeFileSync(join(root, file), text);
      console.log(`wrote ${file}`);
    }
  }
  for (const file of stale)
    console.error(`${file} differs from the chart's rendering: edit the chart, then run npm run manifests`);
  return stale.length > 0 ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
