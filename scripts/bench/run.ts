// `npm run bench -- <name> [args]`: runs one benchmark under scripts/bench/, or lists them.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const available = readdirSync(import.meta.dirname)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.replace(/\.ts$/, ''));
const [name, ...args] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  console.log(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(name === undefined ? 0 : 2);
}
const result = spawnSync(process.execPath, ['--expose-gc', `${import.meta.dirname}/${name}.ts`, ...args], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
