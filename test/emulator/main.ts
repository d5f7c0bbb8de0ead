// `npm run emulator`: the ACI emulator standalone. Prints one JSON line (endpoint, caFile, credentials,
// subscription, resource group, region, the loopback registry's host and the credentials of its
// private repository) for a person or a script, then serves until SIGINT/SIGTERM.
// Settings (all optional): EMULATOR_PORT, EMULATOR_HOST, EMULATOR_TIMELINE (fast|realistic, default
// realistic), EMULATOR_SEED, EMULATOR_PAGE_SIZE, EMULATOR_CA_FILE (default: a fresh temp directory),
// EMULATOR_SUBSCRIPTION_ID, EMULATOR_TENANT_ID, EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET,
// EMULATOR_RESOURCE_GROUP, EMULATOR_REGION, EMULATOR_ADDRESSES (loopback|documentation, default
// loopback), EMULATOR_LOG_LEVEL.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../runtime/logger.ts';
import { abortOnSignals } from '../../runtime/shutdown.ts';
import type { AddressMode } from './group-network.ts';
import type { TIMELINES } from './lifecycle.ts';
import { startEmulator, type EmulatorOptions } from './server.ts';

interface Settings {
  options: EmulatorOptions;
  caFile: string | undefined;
  logLevel: string;
}

function readSettings(env: NodeJS.ProcessEnv): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const integer = (name: string, min: number, max: number): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
      return undefined;
    }
    return value;
  };
  const timeline = env['EMULATOR_TIMELINE'] ?? 'realistic';
  if (timeline !== 'fast' && timeline !== 'realistic') {
    problems.push(`EMULATOR_TIMELINE must be fast or realistic, got "${timeline}"`);
  }
  const addresses = env['EMULATOR_ADDRESSES'] ?? 'loopback';
  if (addresses !== 'loopback' && addresses !== 'documentation') {
    problems.push(`EMULATOR_ADDRESSES must be loopback or documentation, got "${addresses}"`);
  }
  const text = (name: string): Partial<Record<string, string>> => {
    const value = env[name];
    return value === undefined || value === '' ? {} : { value };
  };
  const optional = (name: string, key: keyof EmulatorOptions): Partial<EmulatorOptions> => {
    const { value } = text(name);
    return value === undefined ? {} : { [key]: value };
  };
  const port = integer('EMULATOR_PORT', 0, 65535);
  const seed = integer('EMULATOR_SEED', 0, 2 ** 32 - 1);
  const pageSize = integer('EMULATOR_PAGE_SIZE', 1, 1000);
  const options: EmulatorOptions = {
    timeline: timeline as keyof typeof TIMELINES,
    addresses: addresses as AddressMode,
    ...(port !== undefined && { port }),
    ...(seed !== undefined && { seed }),
    ...(pageSize !== undefined && { pageSize }),
    ...optional('EMULATOR_HOST', 'host'),
    ...optional('EMULATOR_SUBSCRIPTION_ID', 'subscriptionId'),
    ...optional('EMULATOR_TENANT_ID', 'tenantId'),
    ...optional('EMULATOR_CLIENT_ID', 'clientId'),
    ...optional('EMULATOR_CLIENT_SECRET', 'clientSecret'),
    ...optional('EMULATOR_RESOURCE_GROUP', 'resourceGroup'),
    ...optional('EMULATOR_REGION', 'region'),
  };
  return {
    settings: {
      options,
      caFile: text('EMULATOR_CA_FILE').value,
      logLevel: env['EMULATOR_LOG_LEVEL'] ?? 'info',
    },
    problems,
  };
}

const { settings, problems } = readSettings(process.env);
if (problems.length > 0) {
  console.error(`aci-emulator: invalid settings:\n  ${problems.join('\n  ')}`);
  process.exit(2);
}
// Logs go to stderr: stdout carries only the one JSON line scripts parse.
const logger = createLogger({
  component: 'aci-emulator',
  level: settings.logLevel,
  destination: process.stderr,
});
const shutdown = abortOnSignals(logger);
const emulator = await startEmulator({ ...settings.options, logger });
// Outside the repository: a CA file is nothing to commit.
const caFile = settings.caFile ?? join(mkdtempSync(join(tmpdir(), 'aci-emulator-')), 'ca.pem');
writeFileSync(caFile, emulator.caPem);
const connection = {
  endpoint: emulator.endpoint,
  caFile,
  authorityHost: emulator.authorityHost,
  tenantId: emulator.tenantId,
  clientId: emulator.clientId,
  clientSecret: emulator.clientSecret,
  subscriptionId: emulator.subscriptionId,
  resourceGroup: emulator.resourceGroup,
  region: emulator.region,
  registry: emulator.registry.host,
  registryUsername: emulator.registry.username,
  registryPassword: emulator.registry.password,
};
console.log(JSON.stringify(connection));
shutdown.signal.addEventListener('abort', () => {
  emulator.close().then(
    () => {
      logger.info('ACI emulator stopped');
    },
    (error: unknown) => {
      logger.error({ err: error }, 'ACI emulator did not close cleanly');
      process.exitCode = 1;
    },
  );
});
