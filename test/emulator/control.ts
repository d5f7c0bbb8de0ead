// The control API for tests, beside (never inside) the ARM paths and without ARM's authentication:
// faults, container kill/restart, quotas, resource groups, reset, and the request log.
import express, { type Request, type Router } from 'express';
import { ArmError } from './arm-error.ts';
import { ENTRA_FAULT_KINDS, FAULT_KINDS, type FaultRule } from './faults.ts';
import type { FederatedCredential, Federation } from './federation.ts';
import type { ManagedIdentityFixture } from './identities.ts';
import type { Quotas } from './limits.ts';
import { parseUsageRules, type UsageRule, type UsageScript } from './monitor.ts';
import { requestJson } from './https-json.ts';
import type { RequestLog, RequestLogEntry } from './request-log.ts';
import type { EmulatorState } from './state.ts';
import type { GroupRecord } from './views.ts';
import { groupStateAt, provisioningStateAt } from './lifecycle.ts';
import type { VirtualNetworkFixture } from './virtual-networks.ts';

/** A virtual network as a test describes it. */
export type VirtualNetworkInput = Pick<VirtualNetworkFixture, 'name'> &
  Partial<Pick<VirtualNetworkFixture, 'resourceGroup' | 'location'>> & {
    subnets: { name: string; addressPrefix: string; delegations?: string[] }[];
  };

export const CONTROL_PREFIX = '/control';

const KNOWN_FAULTS: ReadonlySet<string> = new Set(FAULT_KINDS);

const ENTRA_FAULTS: ReadonlySet<string> = new Set(ENTRA_FAULT_KINDS);

function faultRules(body: unknown): FaultRule[] {
  const rules = typeof body === 'object' && body !== null ? (body as { rules?: unknown }).rules : undefined;
  if (
    !Array.isArray(rules) ||
    rules.some((rule) => !KNOWN_FAULTS.has((rule as { fault?: string } | null)?.fault ?? ''))
  ) {
    throw new ArmError(
      400,
      'InvalidFaults',
      `Expected {"rules":[{"fault":one of ${FAULT_KINDS.join(', ')}, "service"?: "arm" or "entra", ...}]}.`,
    );
  }
  for (const rule of rules as { fault: string; service?: unknown }[]) {
    const service = rule.service ?? 'arm';
    if (service !== 'arm' && service !== 'entra') {
      throw new ArmError(
        400,
        'InvalidFaults',
        `"service" is "arm" or "entra", got ${JSON.stringify(service)}.`,
      );
    }
    if (service === 'entra' && !ENTRA_FAULTS.has(rule.fault)) {
      throw new ArmError(
        400,
        'InvalidFaults',
        `Entra ID takes the faults ${ENTRA_FAULT_KINDS.join(', ')}, not ${rule.fault}.`,
      );
    }
  }
  return rules as FaultRule[];
}

function quotas(body: unknown): Partial<Quotas> {
  const value = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const entries = Object.entries(value).filter(
    ([name]) => name === 'containerGroups' || name === 'standardCores',
  );
  if (entries.length === 0 || entries.some(([, limit]) => typeof limit !== 'number' || limit < 0)) {
    throw new ArmError(
      400,
      'InvalidQuotas',
      'Expected {"containerGroups"?: number, "standardCores"?: number}.',
    );
  }
  return Object.fromEntries(entries);
}

/** A container group as a test checks it, read without going through ARM (no faults, no throttling, no log entry). */
export interface GroupSummary {
  resourceGroup: string;
  name: string;
  tags: Record<string, string>;
  provisioningState: string;
  state: string;
}

function groupSummary(record: GroupRecord, now: number): GroupSummary {
  return {
    resourceGroup: record.resourceGroup,
    name: record.name,
    tags: record.tags,
    provisioningState: provisioningStateAt(record.runtime.provisioning, now),
    state: groupStateAt(record.runtime, now),
  };
}

export function controlRouter(deps: {
  state: EmulatorState;
  requestLog: RequestLog;
  clock: () => number;
  /** Brings listeners and sessions up to the change before the answer goes out (group-activity.ts). */
  settle: () => Promise<void>;
  usage: UsageScript;
  federation: Federation;
}): Router {
  const { state, requestLog, clock, settle, usage, federation } = deps;
  const router = express.Router();
  router.use(express.json());
  router.get('/requests', (_req, res) => {
    res.json({ requests: requestLog.list() });
  });
  router.get('/groups', (_req, res) => {
    const now = clock();
    res.json({ groups: state.listGroups(undefined, now).map((record) => groupSummary(record, now)) });
  });
  router.delete('/requests', (_req, res) => {
    requestLog.clear();
    res.status(204).end();
  });
  router.put('/faults', (req, res) => {
    const seed = (req.body as { seed?: unknown } | undefined)?.seed;
    state.setFaults(faultRules(req.body), typeof seed === 'number' ? seed : undefined);
    res.status(204).end();
  });
  router.delete('/faults', (_req, res) => {
    state.setFaults([]);
    res.status(204).end();
  });
  router.put('/quotas', (req, res) => {
    res.json(state.setQuotas(quotas(req.body)));
  });
  router.put('/virtualNetworks', (req, res) => {
    res.json(state.putVirtualNetwork(req.body));
  });
  router.put('/managedIdentities', (req, res) => {
    res.json(state.putManagedIdentity(req.body));
  });
  router.put('/federation/issuers', (req, res) => {
    const { issuer, jwks } = (req.body ?? {}) as { issuer?: unknown; jwks?: unknown };
    if (typeof issuer !== 'string' || typeof jwks !== 'object' || jwks === null) {
      throw new ArmError(400, 'InvalidIssuer', 'Expected {"issuer": string, "jwks": {"keys": [...]}}.');
    }
    res.json({ keys: federation.trustIssuer(issuer, jwks) });
  });
  router.put('/federation/credentials', (req, res) => {
    const credential = (req.body ?? {}) as Partial<Record<keyof FederatedCredential, unknown>>;
    const fields = ['clientId', 'issuer', 'subject', 'audience'] as const;
    if (fields.some((field) => typeof credential[field] !== 'string')) {
      throw new ArmError(400, 'InvalidFederatedCredential', `Expected {${fields.join(', ')}} as strings.`);
    }
    federation.addCredential(credential as FederatedCredential);
    res.status(204).end();
  });
  router.get(
    '/resourceGroups/:resourceGroup/containerGroups/:name/volumes/:volume',
    (req: Request<{ resourceGroup: string; name: string; volume: string }>, res) => {
      const { resourceGroup, name, volume } = req.params;
      res.json({ files: state.secretVolumeFiles(resourceGroup, name, volume, clock()) });
    },
  );
  router.put('/resourceGroups/:resourceGroup', (req: Request<{ resourceGroup: string }>, res) => {
    res.status(state.createResourceGroup(req.params.resourceGroup) ? 201 : 200).end();
  });
  router.post(
    '/resourceGroups/:resourceGroup/containerGroups/:name/containers/:container/:action',
    async (req: Request<{ resourceGroup: string; name: string; container: string; action: string }>, res) => {
      const { action, ...target } = req.params;
      if (action !== 'kill' && action !== 'restart')
        throw new ArmError(404, 'UnknownAction', `No action '${action}'.`);
      state.interveneContainer(target, action, clock());
      await settle();
      res.status(204).end();
    },
  );
  router.put('/usage', (req, res) => {
    usage.set(parseUsageRules(req.body), clock());
    res.status(204).end();
  });
  router.delete('/usage', (_req, res) => {
    usage.set([], clock());
    res.status(204).end();
  });
  router.post('/reset', async (_req, res) => {
    state.reset();
    usage.reset();
    federation.clear();
    requestLog.clear();
    await settle();
    res.status(204).end();
  });
  router.use((error: unknown, _req: Request, res: express.Response, next: express.NextFunction) => {
    if (error instanceof ArmError) res.status(error.status).json(error.toBody());
    else next(error);
  });
  return router;
}

/** A typed client of the control API (works against an in-process or a standalone emulator). */
export interface EmulatorControl {
  requests(): Promise<RequestLogEntry[]>;
  /** Every container group in every resource group, read beside ARM (see GroupSummary). */
  groups(): Promise<GroupSummary[]>;
  clearRequests(): Promise<void>;
  /** Replaces the fault rules; `seed` restarts the random sequence (default: the emulator's seed). */
  setFaults(rules: FaultRule[], seed?: number): Promise<void>;
  clearFaults(): Promise<void>;
  setQuotas(quotas: Partial<Quotas>): Promise<Quotas>;
  createResourceGroup(name: string): Promise<void>;
  /**
   * Creates or replaces a virtual network fixture (resource group and location default to the
   * emulator's); see EmulatorOptions.virtualNetworks for which prefixes are served.
   */
  putVirtualNetwork(network: VirtualNetworkInput): Promise<VirtualNetworkFixture>;
  killContainer(resourceGroup: string, group: string, container: string): Promise<void>;
  restartContainer(resourceGroup: string, group: string, container: string): Promise<void>;
  /** What containers use from now on, for Azure Monitor's CpuUsage and MemoryUsage (first match wins). */
  setUsage(rules: UsageRule[]): Promise<void>;
  /** Back to idle figures for every container from now on. */
  clearUsage(): Promise<void>;
  /** Creates or replaces a user-assigned identity (assignable by the connector unless `assignable: false`). */
  putManagedIdentity(identity: {
    id: string;
    assignable?: boolean;
    registries?: string[];
    clientId?: string;
  }): Promise<ManagedIdentityFixture>;
  /** Trusts a token issuer (a cluster's service-account issuer) with the keys of its JWKS. */
  trustIssuer(issuer: string, jwks: object): Promise<void>;
  /** A federated credential on an application: Entra exchanges matching client assertions for tokens. */
  addFederatedCredential(credential: FederatedCredential): Promise<void>;
  /** The decoded files of a group's secret volume. */
  secretVolumeFiles(resourceGroup: string, group: string, volume: string): Promise<Record<string, string>>;
  /** Forgets every container group, fault, quota change, scripted usage, identity, federation and logged request. */
  reset(): Promise<void>;
}

export function createControlClient(endpoint: string, caPem: string): EmulatorControl {
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await requestJson({ url: `${endpoint}${CONTROL_PREFIX}${path}`, method, body, caPem });
    if (response.status >= 400) {
      throw new Error(
        `emulator control ${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`,
      );
    }
    return response.body;
  };
  const container = (action: string) => async (resourceGroup: string, group: string, name: string) => {
    await call(
      'POST',
      `/resourceGroups/${resourceGroup}/containerGroups/${group}/containers/${name}/${action}`,
    );
  };
  return {
    requests: async () => ((await call('GET', '/requests')) as { requests: RequestLogEntry[] }).requests,
    groups: async () => ((await call('GET', '/groups')) as { groups: GroupSummary[] }).groups,
    clearRequests: async () => {
      await call('DELETE', '/requests');
    },
    setFaults: async (rules, seed) => {
      await call('PUT', '/faults', { rules, ...(seed !== undefined && { seed }) });
    },
    clearFaults: async () => {
      await call('DELETE', '/faults');
    },
    setQuotas: async (limits) => (await call('PUT', '/quotas', limits)) as Quotas,
    createResourceGroup: async (name) => {
      await call('PUT', `/resourceGroups/${name}`);
    },
    putVirtualNetwork: async (network) =>
      (await call('PUT', '/virtualNetworks', network)) as VirtualNetworkFixture,
    killContainer: container('kill'),
    restartContainer: container('restart'),
    setUsage: async (rules) => {
      await call('PUT', '/usage', { rules });
    },
    clearUsage: async () => {
      await call('DELETE', '/usage');
    },
    putManagedIdentity: async (identity) =>
      (await call('PUT', '/managedIdentities', identity)) as ManagedIdentityFixture,
    trustIssuer: async (issuer, jwks) => {
      await call('PUT', '/federation/issuers', { issuer, jwks });
    },
    addFederatedCredential: async (credential) => {
      await call('PUT', '/federation/credentials', credential);
    },
    secretVolumeFiles: async (resourceGroup, group, volume) =>
      (
        (await call(
          'GET',
          `/resourceGroups/${resourceGroup}/containerGroups/${group}/volumes/${volume}`,
        )) as {
          files: Record<string, string>;
        }
      ).files,
    reset: async () => {
      await call('POST', '/reset');
    },
  };
}
