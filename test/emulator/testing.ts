// Helpers for tests that drive the emulator through the real SDK, built the way the connector builds it.
import { get } from 'node:http';
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { TokenCredential } from '@azure/identity';
import {
  ARM_SCOPE,
  createAzureClients,
  type AzureClientSettings,
  type AzureRetrySettings,
} from '../../connector/azure-client.ts';
import { requestJson, type JsonResponse } from './https-json.ts';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from './server.ts';

export interface EmulatorHarness {
  emulator: RunningEmulator;
  client: ContainerInstanceManagementClient;
  credential: TokenCredential;
  /** A raw HTTPS call to an ARM path (a token from the emulator's Entra ID unless `token` is given). */
  raw(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string | null },
  ): Promise<JsonResponse>;
  groupPath(resourceGroup: string, name: string): string;
  close(): Promise<void>;
}

/** Polling every 20 ms instead of the SDK's 2 s keeps a create on the fast timeline ~200 ms. */
export const FAST_POLL = { updateIntervalInMs: 20 };
export const API_VERSION = '2023-05-01';

/** The settings that point the connector's Azure clients at this emulator, as an operator would. */
export function clientSettingsFor(emulator: RunningEmulator): AzureClientSettings {
  return {
    subscriptionId: emulator.subscriptionId,
    tenantId: emulator.tenantId,
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    authorityHost: emulator.authorityHost,
    resourceManagerEndpoint: emulator.endpoint,
    caPem: emulator.caPem,
  };
}

export async function startHarness(
  options: EmulatorOptions & { retry?: AzureRetrySettings } = {},
): Promise<EmulatorHarness> {
  const { retry, ...emulatorOptions } = options;
  const emulator = await startEmulator(emulatorOptions);
  const { client, credential } = createAzureClients({
    ...clientSettingsFor(emulator),
    retry: retry ?? { retryDelayInMs: 50, maxRetryDelayInMs: 500 },
  });
  const groupPath = (resourceGroup: string, name: string): string =>
    `/subscriptions/${emulator.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
  return {
    emulator,
    client,
    credential,
    groupPath,
    raw: async (method, path, rawOptions = {}) => {
      const token =
        rawOptions.token === undefined ? (await credential.getToken(ARM_SCOPE))?.token : rawOptions.token;
      const separator = path.includes('?') ? '&' : '?';
      return requestJson({
        url: `${emulator.endpoint}${path}${path.includes('api-version') ? '' : `${separator}api-version=${API_VERSION}`}`,
        method,
        body: rawOptions.body,
        caPem: emulator.caPem,
        headers: token === null || token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
    },
    close: () => emulator.close(),
  };
}

/** A realistic one-container Linux group, as the connector would send it. */
export function containerGroup(
  region: string,
  container: { image?: string; command?: string[]; cpu?: number } = {},
  group: Partial<ContainerGroup> = {},
): ContainerGroup {
  return {
    location: region,
    osType: 'Linux',
    restartPolicy: 'Always',
    tags: { 'k8s-namespace': 'default', 'k8s-pod-name': 'web' },
    containers: [
      {
        name: 'app',
        image: container.image ?? 'nginx:1.27',
        ...(container.command && { command: container.command }),
        resources: { requests: { cpu: container.cpu ?? 0.5, memoryInGB: 1.5 } },
      },
    ],
    ...group,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** POSIX single quoting, as the connector quotes each word it sends to a shell. */
export function quoteWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The line the connector sends to /bin/sh for `kubectl exec [-i] [-t] -- argv…`: markers around the
 * command carry the nonce and its exit status (\036 is the byte 0x1e).
 */
export function connectorLine(
  nonce: string,
  argv: string[],
  options: { stdin: boolean; tty: boolean },
): string {
  const command = `${options.tty ? 'stty echo onlcr; ' : ''}${argv.map(quoteWord).join(' ')}${options.stdin ? '' : ' </dev/null'}`;
  return `stty -echo -onlcr 2>/dev/null; printf '\\036%sB\\036\\n' ${nonce}; ${command}; printf '\\036%sE%d\\036\\n' ${nonce} $?; exit\n`;
}

/** GET http://address:port/path: the body, or the error code (ECONNREFUSED when nothing listens). */
export function httpGet(address: string, port: number, path = '/'): Promise<string> {
  return new Promise((resolve) => {
    const request = get({ host: address, port, path, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        resolve(body);
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code ?? error.message);
    });
  });
}
