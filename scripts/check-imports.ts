// The dependency rules `npm run check` enforces, which tsc and eslint cannot see:
// - no import cycle anywhere in the project (type-only imports count: a cycle of types is still one
//   tangle that cannot be read, tested or moved in parts);
// - contract/ is used only through contract/index.ts, so its internals can be reorganised freely.
// Reads every .ts file git knows (tracked, or new and not ignored), takes the imports TypeScript's own
// preprocessor finds (static `import`/`export ... from`, `import type`; comments and strings skipped),
// and checks the graph of relative imports in time linear in its size (Tarjan's components).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** Paths relative to the project root, with `/`. */
  from: string;
  to: string;
  /** 1-based line of the specifier in `from`. */
  line: number;
}

export const CONTRACT_DIRECTORY = 'contract/';
export const CONTRACT_ENTRY = 'contract/index.ts';

/** The imports of `file` that name another file of `files` by a relative path. */
export function relativeImports(file: string, source: string, files: ReadonlySet<string>): ImportEdge[] {
  const edges: ImportEdge[] = [];
  let line = 1;
  let scanned = 0;
  // importedFiles come in source order, so one pass over the text numbers all their lines.
  for (const imported of ts.preProcessFile(source, true, false).importedFiles) {
    for (; scanned < imported.pos; scanned++) if (source.charCodeAt(scanned) === 10) line++;
    if (!imported.fileName.startsWith('.')) continue;
    const to = posix.normalize(posix.join(posix.dirname(file), imported.fileName));
    if (files.has(to)) edges.push({ from: file, to, line });
  }
  return edges;
}

/**
 * One cycle per strongly connected component that has one, as a path that returns to its start
 * (`a -> b -> a`), with the component's size: a component of n files may hold many cycles, and
 * listing them all could take exponential time, while breaking the one shown is progress.
 */
export function findCycles(edges: readonly ImportEdge[]): { path: string[]; size: number }[] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    const targets = next.get(from) ?? [];
    targets.push(to);
    next.set(from, targets);
    if (!next.has(to)) next.set(to, []);
  }
  return stronglyConnected(next)
    .filter(
      (component) =>
        component.length > 1 || (next.get(component[0] ?? '') ?? []).includes(component[0] ?? ''),
    )
    .map((component) => ({ path: shortestCycle(component, next), size: component.length }));
}

/** Tarjan's algorithm, iterative (no recursion limit on long import chains). */
function stronglyConnected(next: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const work: { node: string; child: number }[] = [];
  const enter = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.size - 1);
    stack.push(node);
    onStack.add(node);
    work.push({ node, child: 0 });
  };
  const lower = (node: string, value: number | undefined): void => {
    low.set(node, Math.min(low.get(node) ?? 0, value ?? 0));
  };
  const leave = (node: string): void => {
    work.pop();
    const parent = work[work.length - 1];
    if (parent) lower(parent.node, low.get(node));
    if (low.get(node) !== index.get(node)) return;
    const start = stack.lastIndexOf(node);
    const component = stack.splice(start);
    for (const member of component) onStack.delete(member);
    components.push(component.sort());
  };
  for (const root of next.keys()) {
    if (index.has(root)) continue;
    enter(root);
    for (let frame = work[work.length - 1]; frame; frame = work[work.length - 1]) {
      const child = next.get(frame.node)?.[frame.child++];
      if (child === undefined) leave(frame.node);
      else if (!index.has(child)) enter(child);
      else if (onStack.has(child)) lower(frame.node, index.get(child));
    }
  }
  return components;
}

/** The shortest path from the component's first file back to itself, by breadth-first search inside it. */
function shortestCycle(component: readonly string[], next: ReadonlyMap<string, readonly string[]>): string[] {
  const start = component[0] ?? '';
  const inside = new Set(component);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] ?? '';
    for (const child of next.get(node) ?? []) {
      if (child === start) {
        const back: string[] = [];
        for (let step = node; step !== start; step = cameFrom.get(step) ?? start) back.push(step);
        return [start, ...back.reverse(), start];
      }
      if (inside.has(child) && !cameFrom.has(child) && child !== start) {
        cameFrom.set(child, node);
        queue.push(child);
      }
    }
  }
  return [start, start];
}

/** Imports of a contract/ file other than its index.ts from outside contract/. */
export function deepContractImports(edges: readonly ImportEdge[]): ImportEdge[] {
  return edges.filter(
    ({ from, to }) =>
      to.startsWith(CONTRACT_DIRECTORY) && to !== CONTRACT_ENTRY && !from.startsWith(CONTRACT_DIRECTORY),
  );
}

/** Every broken rule, one line each; empty when the imports are fine. */
export function checkImports(sources: ReadonlyMap<string, string>): string[] {
  const files = new Set(sources.keys());
  const edges = [...sources].flatMap(([file, source]) => relativeImports(file, source, files));
  return [
    ...findCycles(edges).map(
      ({ path, size }) =>
        `import cycle: ${path.join(' -> ')}` +
        (size > path.length - 1 ? ` (one of the cycles among ${size} files)` : ''),
    ),
    ...deepContractImports(edges).map(
      ({ from, to, line }) => `${from}:${line}: imports ${to}; import from ${CONTRACT_ENTRY} instead`,
    ),
  ];
}

function main(): void {
  const listed = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '*.ts'],
    {
      encoding: 'utf8',
    },
  );
  const files = [...new Set(listed.split('\0'))].filter((file) => file !== '' && existsSync(file));
  const problems = checkImports(new Map(files.map((file) => [file, readFileSync(file, 'utf8')])));
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log(`imports: ${files.length} files, no cycles, contract/ used only through ${CONTRACT_ENTRY}`);
}

if (import.meta.main) main();
