// The connector's kubelet API under fuzz, over HTTPS with the API server's client certificate: request
// lines in every form HTTP/1.1 allows (and some it does not), hostile names and log options, followed
// logs the client drops, an authorizer that says yes, no or fails, and an ACI that answers anything.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import { RestError } from '@azure/core-rest-pipeline';
import { createKubeletApi } from '../../connector/kubelet-api.ts';
import { LogFollowers, LogReadBudget } from '../../connector/log-followers.ts';
import { silentLogger } from '../../runtime/logger.ts';
import type { ServingCredentials } from './credentials.ts';
import type { Target } from './engine.ts';
import { httpRequest, rawRequest } from './https-client.ts';
import type { Random } from './random.ts';
import { hostileString, longString } from './values.ts';
import { systemTimers } from '../../runtime/clock.ts';

const POD: V1Pod = {
  metadata: { name: 'web', namespace: 'shop', uid: 'u1' },
  spec: {
    containers: [
      { name: 'nginx', image: 'nginx' },
      { name: 'sidecar', image: 'busybox' },
    ],
  },
};

/** What ACI answers this case: a log (timestamped or not, short or long), or an error. */
interface Scenario {
  log: string;
  error: Error | undefined;
  authorization: 'allow' | 'deny' | 'fail';
}

function scenario(random: Random): Scenario {
  const lines = Array.from(
    { length: random.chance(0.95) ? random.int(20) : random.int(20_000) },
    (_, index) =>
      random.chance(0.9)
        ? `2026-11-25T19:59:${String(index % 60).padStart(2, '0')}.${index}Z line ${index}`
        : hostileString(random),
  );
  const errors = [
    new RestError('not found', { statusCode: 404, code: 'ResourceNotFound' }),
    new RestError('slow down', { statusCode: 429, code: 'SubscriptionRequestsThrottled' }),
    new RestError('boom', { statusCode: 500, code: 'InternalServerError' }),
    new Error('socket hang up'),
  ];
  return {
    log: random.chance(0.05) ? longString(random) : lines.map((line) => `${line}\n`).join(''),
    error: random.chance(0.1) ? random.pick(errors) : undefined,
    authorization: random.chance(0.9) ? 'allow' : random.pick(['deny', 'fail']),
  };
}

const QUERY_NAMES = [
  'tailLines',
  'limitBytes',
  'sinceSeconds',
  'sinceTime',
  'timestamps',
  'follow',
  'previous',
  'container',
];
const QUERY_VALUES = [
  'true',
  'false',
  '0',
  '1',
  '-1',
  '10',
  '1e308',
  '99999999999999999999',
  '2026-11-25T19:59:30Z',
  'yesterday',
  '',
  '%',
  '%zz',
];

function query(random: Random): string {
  return Array.from({ length: random.int(5) }, () => {
    const name = random.chance(0.9)
      ? random.pick(QUERY_NAMES)
      : encodeURIComponent(hostileString(random).toWellFormed());
    const value = random.chance(0.85)
      ? random.pick(QUERY_VALUES)
      : encodeURIComponent(hostileString(random).toWellFormed());
    return `${name}=${value}`;
  }).join('&');
}

function segment(random: Random, known: readonly string[]): string {
  if (random.chance(0.85)) return random.pick(known);
  const text = hostileString(random).toWellFormed();
  return random.chance(0.7) ? encodeURIComponent(text) : text.replace(/[\s]/g, '');
}

/** A request target in one of HTTP/1.1's forms, or something that is none of them. */
function requestTarget(random: Random): { target: string; follows: boolean } {
  const path = random.pick([
    () =>
      `/containerLogs/${segment(random, ['shop'])}/${segment(random, ['web', 'gone'])}/${segment(random, ['nginx', 'sidecar', 'x'])}`,
    () => `/exec/shop/web/nginx`,
    () => '/pods',
    () => '/healthz',
    () => `/${segment(random, ['metrics', 'spec', 'stats'])}`,
  ])();
  const withQuery = `${path}?${query(random)}`;
  const form = random.int(10);
  const target =
    form === 0
      ? `${random.pick(['https://127.0.0.1:10250', 'https://h:99999', 'http://[::1', 'https://user@', 'file://'])}${withQuery}`
      : form === 1
        ? random.pick(['*', '', '//evil/containerLogs/shop/web/nginx', withQuery.replace('/', '\\')])
        : withQuery;
  return { target, follows: withQuery.includes('follow=true') };
}

/** Statuses the kubelet API may answer with; a 500 or no answer at all is a fault. */
const ACCEPTABLE = new Set([200, 400, 403, 404, 405, 408, 413, 414, 431, 502, 503, 505]);

export function kubeletTargets(credentials: ServingCredentials): {
  targets: Target[];
  start: () => Promise<void>;
} {
  let current: Scenario = { log: '', error: undefined, authorization: 'allow' };
  const shutdown = new AbortController();
  const followers = new LogFollowers({
    source: {
      logs: () => (current.error ? Promise.reject(current.error) : Promise.resolve(current.log)),
    },
    timers: {
      now: () => Date.now(),
      sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
    },
    intervalMs: 5,
    budget: new LogReadBudget(600_000, 1_000),
  });
  const server = createKubeletApi({
    cache: {
      synced: true,
      get: (namespace, name) => (namespace === 'shop' && name === 'web' ? POD : undefined),
      list: () => [POD],
    },
    ownedGroupFor: () => 'shop-web',
    logs: followers,
    authorizer: {
      allowed: () =>
        current.authorization === 'fail'
          ? Promise.reject(new Error('SubjectAccessReview failed'))
          : Promise.resolve(current.authorization === 'allow'),
    },
    logger: silentLogger(),
    clock: systemTimers,
    tls: { ...credentials.serving, clientCaPem: credentials.caPem },
    shutdown: shutdown.signal,
  });
  const target: Target = {
    name: 'kubelet-https',
    weight: 7,
    run: async (random) => {
      current = scenario(random);
      const { target: requestTargetText, follows } = requestTarget(random);
      const method = random.chance(0.9)
        ? 'GET'
        : random.pick(['POST', 'HEAD', 'DELETE', 'OPTIONS', 'PRI', 'G\u0000T']);
      const headers: Record<string, string> = random.chance(0.03) ? { 'x-padding': 'x'.repeat(20_000) } : {};
      let answer;
      try {
        answer = await rawRequest({
          port: (server.address() as AddressInfo).port,
          caPem: credentials.caPem,
          client: credentials.client,
          bytes: httpRequest({ method, target: requestTargetText, headers }),
          ...(follows && { readForMs: 30 }),
          timeoutMs: 9_000,
        });
      } catch (error) {
        return `no answer to ${method} ${requestTargetText.slice(0, 200)}: ${error instanceof Error ? error.message : String(error)}`;
      }
      return ACCEPTABLE.has(answer.status)
        ? undefined
        : `HTTP ${answer.status} to ${method} ${requestTargetText.slice(0, 200)}`;
    },
    close: async () => {
      // Every follower hung up long ago: none may still be polling.
      for (let wait = 0; wait < 40 && followers.followedContainers > 0; wait += 1) await sleep(50);
      const left = followers.followedContainers;
      shutdown.abort();
      server.close();
      server.closeAllConnections();
      return left > 0 ? `${left} followed logs still polling after their callers left` : undefined;
    },
  };
  return {
    targets: [target],
    start: async () => {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}
