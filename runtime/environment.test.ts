import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnvironmentReader, LOG_LEVELS } from './environment.ts';

const VARIABLES = {
  PORT: 'The port.',
  FLAG: 'A switch.',
  NAMES: 'A list.',
  LEVEL: 'A level.',
  URL: 'A URL.',
};
type Name = keyof typeof VARIABLES;

function read(env: Record<string, string>, use: (reader: EnvironmentReader<Name>) => unknown) {
  const reader = new EnvironmentReader<Name>(env, VARIABLES);
  const value = use(reader);
  const result = reader.result(value);
  return { value, problems: result.ok ? [] : result.problems };
}

describe('EnvironmentReader', () => {
  const table: {
    name: string;
    env: Record<string, string>;
    use: (reader: EnvironmentReader<Name>) => unknown;
    value: unknown;
    problems?: string[];
  }[] = [
    {
      name: 'unset and blank are the same',
      env: { PORT: '  ' },
      use: (r) => r.optional('PORT'),
      value: undefined,
    },
    { name: 'values are trimmed', env: { PORT: ' 80 ' }, use: (r) => r.optional('PORT'), value: '80' },
    {
      name: 'a required variable names its meaning',
      env: {},
      use: (r) => r.required('PORT'),
      value: '',
      problems: ['PORT is required: The port.'],
    },
    { name: 'an integer', env: { PORT: '8443' }, use: (r) => r.integer('PORT', 1), value: 8443 },
    { name: 'an integer unset: the fallback', env: {}, use: (r) => r.integer('PORT', 7), value: 7 },
    {
      name: 'an integer below its minimum',
      env: { PORT: '0' },
      use: (r) => r.integer('PORT', 7),
      value: 7,
      problems: ['PORT must be a whole number >= 1, got "0"'],
    },
    {
      name: 'an integer past its maximum',
      env: { PORT: '70000' },
      use: (r) => r.integer('PORT', 7, { min: 0, max: 65_535 }),
      value: 7,
      problems: ['PORT must be a whole number from 0 to 65535, got "70000"'],
    },
    { name: 'a boolean, any case', env: { FLAG: 'TRUE' }, use: (r) => r.boolean('FLAG', false), value: true },
    {
      name: 'a boolean that is not one',
      env: { FLAG: 'yes' },
      use: (r) => r.boolean('FLAG', false),
      value: false,
      problems: ['FLAG must be true or false, got "yes"'],
    },
    {
      name: 'a list drops empty entries',
      env: { NAMES: ' a, b ,,' },
      use: (r) => r.list('NAMES'),
      value: ['a', 'b'],
    },
    {
      name: 'one of a set',
      env: { LEVEL: 'debug' },
      use: (r) => r.oneOf('LEVEL', LOG_LEVELS, 'info'),
      value: 'debug',
    },
    {
      name: 'not one of a set',
      env: { LEVEL: 'verbose' },
      use: (r) => r.oneOf('LEVEL', LOG_LEVELS, 'info'),
      value: 'info',
      problems: ['LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
    },
    {
      name: 'a parsed value the parser refuses',
      env: { URL: 'not a url' },
      use: (r) => r.parsed('URL', (text) => URL.parse(text) ?? undefined, 'a URL'),
      value: undefined,
      problems: ['URL must be a URL, got "not a url"'],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const { value, problems } = read(row.env, row.use);
      assert.deepEqual(value, row.value);
      assert.deepEqual(problems, row.problems ?? []);
    });
  }

  it('lists every problem at once, in the order read', () => {
    const { problems } = read({ PORT: 'x', FLAG: 'maybe' }, (r) => {
      r.integer('PORT', 1);
      r.boolean('FLAG', false);
      r.required('NAMES');
      r.problem('PORT and FLAG go together');
    });
    assert.deepEqual(problems, [
      'PORT must be a whole number >= 1, got "x"',
      'FLAG must be true or false, got "maybe"',
      'NAMES is required: A list.',
      'PORT and FLAG go together',
    ]);
  });
});
