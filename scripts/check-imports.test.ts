import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkImports, relativeImports } from './check-imports.ts';

describe('relativeImports', () => {
  const files = new Set(['a/x.ts', 'a/y.ts', 'b/z.ts', 'a/index.ts']);
  const cases: { name: string; source: string; expected: { to: string; line: number }[] }[] = [
    { name: 'a value import', source: "import { y } from './y.ts';", expected: [{ to: 'a/y.ts', line: 1 }] },
    {
      name: 'a type-only import',
      source: "import type { Y } from './y.ts';",
      expected: [{ to: 'a/y.ts', line: 1 }],
    },
    {
      name: 'a multi-line import, numbered by its specifier’s line',
      source: "// head\nimport {\n  y, // it's here\n  z,\n} from './y.ts';",
      expected: [{ to: 'a/y.ts', line: 5 }],
    },
    {
      name: 'export-from, export-star, export type and side-effect imports',
      source:
        "export { y } from './y.ts';\nexport * from '../b/z.ts';\nexport type * from './index.ts';\nimport './y.ts';",
      expected: [
        { to: 'a/y.ts', line: 1 },
        { to: 'b/z.ts', line: 2 },
        { to: 'a/index.ts', line: 3 },
        { to: 'a/y.ts', line: 4 },
      ],
    },
    {
      name: 'not imports in comments and strings',
      source:
        "// import { y } from './y.ts';\nconst s = \"import { y } from './y.ts'\";\nconst t = `\nimport z from '../b/z.ts';\n`;",
      expected: [],
    },
    {
      name: 'not packages, node: modules or files outside the list',
      source:
        "import ts from 'typescript';\nimport { hash } from 'node:crypto';\nimport { q } from './missing.ts';",
      expected: [],
    },
  ];
  for (const { name, source, expected } of cases) {
    it(name, () => {
      assert.deepEqual(
        relativeImports('a/x.ts', source, files).map(({ to, line }) => ({ to, line })),
        expected,
      );
    });
  }
});

/** A small project shaped like this one: contract/ behind index.ts, with types in a leaf module. */
const acyclic: Record<string, string> = {
  'contract/types.ts': 'export interface Problem { path: string }',
  'contract/context.ts':
    "import type { Problem } from './types.ts';\nexport const refuse = (p: Problem) => p;",
  'contract/translate.ts': "import { refuse } from './context.ts';\nexport const analyse = refuse;",
  'contract/capability.ts': "import { analyse } from './translate.ts';\nexport const checkPod = analyse;",
  'contract/index.ts': "export type * from './types.ts';\nexport { checkPod } from './capability.ts';",
  'webhook/decision.ts':
    "import { checkPod, type Problem } from '../contract/index.ts';\nexport { checkPod };",
  'webhook/main.ts': "import { checkPod } from './decision.ts';\ncheckPod;",
};

describe('checkImports', () => {
  const cases: { name: string; change: Record<string, string>; expected: string[] }[] = [
    { name: 'passes an acyclic project that uses contract/ through index.ts', change: {}, expected: [] },
    {
      name: 'fails on a deliberately added type-only cycle, listed as a path back to its start',
      change: {
        'contract/types.ts':
          "import type { checkPod } from './capability.ts';\nexport interface Problem { path: string }",
      },
      expected: [
        'import cycle: contract/capability.ts -> contract/translate.ts -> contract/context.ts -> contract/types.ts -> contract/capability.ts',
      ],
    },
    {
      name: 'fails on a two-file cycle outside contract/',
      change: {
        'webhook/decision.ts': "import { checkPod } from '../contract/index.ts';\nimport './main.ts';",
      },
      expected: ['import cycle: webhook/decision.ts -> webhook/main.ts -> webhook/decision.ts'],
    },
    {
      name: 'fails on a file that imports itself',
      change: { 'webhook/main.ts': "import './main.ts';" },
      expected: ['import cycle: webhook/main.ts -> webhook/main.ts'],
    },
    {
      name: 'names one cycle per tangle, with the number of files in it',
      change: {
        'contract/context.ts': "import type { Problem } from './types.ts';\nimport './capability.ts';",
        'contract/types.ts': "import './translate.ts';",
      },
      expected: [
        'import cycle: contract/capability.ts -> contract/translate.ts -> contract/context.ts -> contract/capability.ts (one of the cycles among 4 files)',
      ],
    },
    {
      name: 'fails on a deep import of a contract/ internal from outside it, by file and line',
      change: {
        'webhook/decision.ts':
          "import { checkPod } from '../contract/index.ts';\nimport type { Problem } from '../contract/types.ts';",
      },
      expected: ['webhook/decision.ts:2: imports contract/types.ts; import from contract/index.ts instead'],
    },
    {
      name: 'allows contract/ files (and their tests) to import each other directly',
      change: { 'contract/capability.test.ts': "import { refuse } from './context.ts';\nrefuse;" },
      expected: [],
    },
  ];
  for (const { name, change, expected } of cases) {
    it(name, () => {
      assert.deepEqual(checkImports(new Map(Object.entries({ ...acyclic, ...change }))), expected);
    });
  }

  it('follows a cycle through 100,000 files without running out of stack', () => {
    const count = 100_000;
    const sources = new Map<string, string>();
    for (let i = 0; i < count; i++) sources.set(`m/${i}.ts`, `import './${(i + 1) % count}.ts';`);
    const [problem = '', ...rest] = checkImports(sources);
    assert.equal(rest.length, 0);
    assert.ok(problem.startsWith('import cycle: m/0.ts -> m/1.ts -> m/2.ts'), problem);
    assert.ok(problem.endsWith('-> m/99999.ts -> m/0.ts'), problem.slice(-80));
  });
});
