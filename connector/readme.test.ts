import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { ENVIRONMENT } from './config.ts';

it('the README documents every variable the connector reads', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(
    readme.indexOf('<!-- section:connector -->'),
    readme.indexOf('<!-- /section:connector -->'),
  );
  const missing = Object.keys(ENVIRONMENT).filter((name) => !section.includes(`\`${name}\``));
  assert.deepEqual(missing, []);
});
