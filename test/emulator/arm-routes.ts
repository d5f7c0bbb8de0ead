// The ARM paths of Microsoft.ContainerInstance (and the resource-group PUT a person uses to make room
// for a test). Thin: parse the request, call EmulatorState, answer in ARM's wire shape.
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../../runtime/logger.ts';
import { ArmError, invalidContent } from './arm-error.ts';
import { endedByConnectionFault } from './connection-faults.ts';
import type { TokenIssuer } from './entra-routes.ts';
import { monitorRoutes } from './monitor-routes.ts';
import type { MonitorTiming, UsageScript } from './monitor.ts';
import type { RequestLog } from './request-log.ts';
import type { ArmCategory, EmulatorState } from './state.ts';
import { groupId, groupView, operationView } from './views.ts';
import { type AddressPool, virtualNetworkView } from './virtual-networks.ts';

export interface ArmRoutesDependencies {
  state: EmulatorState;
  tokens: TokenIssuer;
  requestLog: RequestLog;
  /** The emulator's base URL (ARM and Entra ID alike), known once it listens. */
  endpoint: () => string;
  tenantId: string;
  clock: () => number;
  /** Groups per page of a list. */
  pageSize: number;
  logger: Logger;
  onRequest?: (entry: { method: string; status: number }) => void;
  /** Brings listeners and sessions up to now (group-activity.ts): before every handler, and after a
   * write before its answer, so a client that got the answer finds the world changed. */
  settle: () => Promise<void>;
  /** An IP address for a new group that asks for one (group-network.ts), from its subnet's pool in one. */
  claimAddress: (
    groupId: string,
    type: 'Public' | 'Private',
    subnet: { pool: AddressPool; taken: ReadonlySet<string> } | undefined,
  ) => Promise<string>;
  /** Azure Monitor's metrics of container groups: the scripted usage and the grain's timing. */
  monitor: { script: UsageScript; timing: MonitorTiming };
}

/** The api-version Azure puts on its own operation-status URLs. */
const OPERATION_API_VERSION = '2018-06-01';
const PROVIDER = '/providers/Microsoft.ContainerInstance';
const GROUPS = `/resourceGroups/:resourceGroup${PROVIDER}/containerGroups`;
const GROUP = `${GROUPS}/:name`;
const CONTAINER = `${GROUP}/containers/:container`;
const LOCATION = `${PROVIDER}/locations/:location`;

function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new Error(`route without :${name}`);
  return value;
}

function queryString(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function jsonBody(req: Request): unknown {
  const raw = req.body as unknown;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw invalidContent(error instanceof Error ? error.message : 'malformed JSON');
  }
}

function category(method: string): ArmCategory {
  if (method === 'GET' || method === 'HEAD') return 'reads';
  return method === 'DELETE' ? 'deletes' : 'writes';
}

export function armRouter(deps: ArmRoutesDependencies): Router {
  const { state, clock } = deps;
  const router = express.Router({ mergeParams: true });
  router.use(express.raw({ type: () => true, limit: '4mb' }));
  router.use(recordRequests(deps));
  router.use(injectFaults(deps));
  router.use(authenticate(deps));
  router.use((req, res, next) => {
    if (param(req, 'subscriptionId') !== state.config.subscriptionId) {
      throw new ArmError(
        404,
        'SubscriptionNotFound',
        `The subscription '${param(req, 'subscriptionId')}' could not be found.`,
      );
    }
    if (!queryString(req, 'api-version')) {
      throw new ArmError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    }
    res.set({ 'x-ms-request-id': randomUUID(), 'x-ms-correlation-request-id': randomUUID() });
    res.set(state.takeArmToken(category(req.method), clock()));
    next();
  });
  router.use(followGroups(deps.settle));
  resourceGroupRoutes(router, state);
  groupRoutes(router, deps);
  containerRoutes(router, deps);
  locationRoutes(router, deps);
  monitorRoutes(router, { state, clock, ...deps.monitor });
  router.use((req) => {
    throw new ArmError(
      404,
      'InvalidResourceType',
      `The resource path '${req.path}' is not served by the ACI emulator.`,
    );
  });
  router.use(armErrorHandler(deps.logger));
  return router;
}

function recordRequests(deps: ArmRoutesDependencies) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = deps.clock();
    const url = new URL(req.originalUrl, 'https://emulator');
    const body = ['PUT', 'PATCH', 'POST'].includes(req.method) ? safeJson(req.body) : undefined;
    // The answer's time is when its head is written, not when 'finish' runs: on a busy event loop that
    // comes later, and a Retry-After measured from it would blame the client for the server's lag.
    let answeredAt: number | undefined;
    const writeHead = res.writeHead.bind(res);
    res.writeHead = ((...args: Parameters<Response['writeHead']>) => {
      answeredAt ??= deps.clock();
      return writeHead(...args);
    }) as Response['writeHead'];
    const record = (status: number): void => {
      deps.logger.debug({ method: req.method, path: url.pathname, status }, 'ARM request');
      const { faults, appliedStatus } = res.locals as { faults?: string[]; appliedStatus?: number };
      const retryAfter = Number(res.getHeader('retry-after'));
      deps.requestLog.add({
        method: req.method,
        path: url.pathname,
        query: url.search,
        status,
        time: new Date(started).toISOString(),
        durationMs: (answeredAt ?? deps.clock()) - started,
        ...(body !== undefined && { body }),
        ...(faults !== undefined && faults.length > 0 && { faults }),
        ...(appliedStatus !== undefined && { appliedStatus }),
        ...(status !== 0 &&
          Number.isFinite(retryAfter) &&
          retryAfter > 0 && { retryAfterSeconds: retryAfter }),
      });
      deps.onRequest?.({ method: req.method, status });
    };
    res.on('finish', () => {
      record(res.statusCode);
    });
    res.on('close', () => {
      if (!res.writableFinished) record(0);
    });
    next();
  };
}

/**
 * The request is handled in full, then the connection closes where the answer would have gone: the
 * client sees a reset and cannot tell whether its create happened. The log keeps the handled status.
 */
function dropBeforeAnswer(req: Request, res: Response): void {
  res.end = ((..._ignored: unknown[]) => {
    res.locals['appliedStatus'] = res.statusCode;
    req.socket.destroy();
    return res;
  }) as Response['end'];
}

function safeJson(raw: unknown): unknown {
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return raw.toString('utf8');
  }
}

function injectFaults(deps: ArmRoutesDependencies) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const faults = deps.state.faultsFor({
      service: 'arm',
      method: req.method,
      path: req.originalUrl.split('?')[0] ?? '',
    });
    res.locals['faults'] = faults.map((fault) => fault.kind);
    for (const fault of faults) {
      if (await endedByConnectionFault(fault, req.socket)) return;
      switch (fault.kind) {
        case 'drop-after-apply':
          dropBeforeAnswer(req, res);
          break;
        case 'stall':
          // Read by the container-group PUT: only a create or update can get stuck.
          res.locals['stall'] = true;
          break;
        case 'throttle': {
          const seconds = fault.retryAfterSeconds ?? 1;
          throw new ArmError(
            429,
            'SubscriptionRequestsThrottled',
            `Number of requests for subscription '${deps.state.config.subscriptionId}' exceeded. Please try again after '${seconds}' seconds.`,
            { headers: { 'retry-after': String(seconds) } },
          );
        }
        case 'internal-error':
          throw new ArmError(
            500,
            'InternalServerError',
            'Encountered internal server error. Please try again later.',
          );
        case 'unavailable':
          throw new ArmError(
            503,
            'ServiceUnavailable',
            'The service is temporarily unavailable. Please try again later.',
            {
              ...(fault.retryAfterSeconds !== undefined && {
                headers: { 'retry-after': String(fault.retryAfterSeconds) },
              }),
            },
          );
      }
    }
    if (res.headersSent || req.socket.destroyed) return;
    next();
  };
}

/** Settles before every handler: an answer that shows a container Running is never ahead of its listeners. */
function followGroups(settle: () => Promise<void>) {
  return async (_req: Request, _res: Response, next: NextFunction): Promise<void> => {
    await settle();
    next();
  };
}

function authenticate(deps: ArmRoutesDependencies) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('authorization') ?? '';
    const token = /^Bearer (.+)$/i.exec(header)?.[1];
    const verdict = token === undefined ? 'missing' : deps.tokens.verify(token, deps.clock());
    if (verdict === 'valid') {
      next();
      return;
    }
    res.set(
      'www-authenticate',
      `Bearer authorization_uri="${deps.endpoint()}/${deps.tenantId}", error="invalid_token", error_description="The access token is ${verdict}."`,
    );
    const errors = {
      missing: ['AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing."],
      expired: [
        'ExpiredAuthenticationToken',
        'The access token expiry UTC time is earlier than current UTC time.',
      ],
      unknown: ['InvalidAuthenticationToken', 'The access token is invalid.'],
    } as const;
    const [code, message] = errors[verdict];
    throw new ArmError(401, code, message);
  };
}

function armErrorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof ArmError) {
      res.status(error.status).set(error.headers).json(error.toBody());
      return;
    }
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // body-parser's refusals (too large, bad encoding): the client's fault, not the emulator's.
      const code = status === 413 ? 'RequestEntityTooLarge' : 'BadRequest';
      res.status(status).json(new ArmError(status, code, (error as Error).message).toBody());
      return;
    }
    logger.error({ err: error }, 'emulator bug while answering an ARM request');
    res
      .status(500)
      .json(new ArmError(500, 'InternalServerError', 'Encountered internal server error.').toBody());
  };
}

function resourceGroupRoutes(router: Router, state: EmulatorState): void {
  const view = (name: string): object => ({
    id: `/subscriptions/${state.config.subscriptionId}/resourceGroups/${name}`,
    name,
    type: 'Microsoft.Resources/resourceGroups',
    location: state.config.regions[0],
    properties: { provisioningState: 'Succeeded' },
  });
  router.put('/resourceGroups/:resourceGroup', (req, res) => {
    const created = state.createResourceGroup(param(req, 'resourceGroup'));
    res.status(created ? 201 : 200).json(view(state.requireResourceGroup(param(req, 'resourceGroup'))));
  });
  router.get('/resourceGroups/:resourceGroup', (req, res) => {
    res.json(view(state.requireResourceGroup(param(req, 'resourceGroup'))));
  });
  // Microsoft.Network: only the read the connector checks its subnet with; networks are fixtures.
  router.get(
    '/resourceGroups/:resourceGroup/providers/Microsoft.Network/virtualNetworks/:name',
    (req, res) => {
      const network = state.getVirtualNetwork(param(req, 'resourceGroup'), param(req, 'name'));
      res.json(virtualNetworkView(state.config.subscriptionId, network));
    },
  );
}

function page<T>(items: T[], req: Request, deps: ArmRoutesDependencies): { value: T[]; nextLink?: string } {
  const skip = Math.max(0, Number.parseInt(queryString(req, '$skipToken') ?? '0', 10) || 0);
  const value = items.slice(skip, skip + deps.pageSize);
  if (skip + deps.pageSize >= items.length) return { value };
  // The SDK follows nextLink verbatim, so it is absolute and carries the api-version.
  const next = new URL(`${deps.endpoint()}${req.originalUrl.split('?')[0] ?? ''}`);
  next.searchParams.set('api-version', queryString(req, 'api-version') ?? '');
  next.searchParams.set('$skipToken', String(skip + deps.pageSize));
  return { value, nextLink: next.toString() };
}

function operationUrl(deps: ArmRoutesDependencies, location: string, operationId: string): string {
  return `${deps.endpoint()}/subscriptions/${deps.state.config.subscriptionId}${PROVIDER}/locations/${location}/operations/${operationId}?api-version=${OPERATION_API_VERSION}`;
}

function groupRoutes(router: Router, deps: ArmRoutesDependencies): void {
  const { state, clock } = deps;
  const target = (req: Request): [string, string] => [param(req, 'resourceGroup'), param(req, 'name')];
  router.get(`${PROVIDER}/containerGroups`, (req, res) => {
    const now = clock();
    res.json(
      page(
        state.listGroups(undefined, now).map((r) => groupView(r, now, { instanceView: false })),
        req,
        deps,
      ),
    );
  });
  router.get(GROUPS, (req, res) => {
    const now = clock();
    const records = state.listGroups(param(req, 'resourceGroup'), now);
    res.json(
      page(
        records.map((r) => groupView(r, now, { instanceView: false })),
        req,
        deps,
      ),
    );
  });
  router.get(GROUP, (req, res) => {
    const now = clock();
    res.json(groupView(state.getGroup(...target(req), now), now, { instanceView: true }));
  });
  router.put(GROUP, async (req, res) => {
    const now = clock();
    const result = state.putGroup(...target(req), jsonBody(req), now);
    if (res.locals['stall'] === true) state.stallProvisioning(...target(req), now, result.operationId);
    let { record } = result;
    const { ipAddress } = record.spec;
    if (ipAddress && record.address === undefined) {
      const address = await deps.claimAddress(
        groupId(record.subscriptionId, record.resourceGroup, record.name),
        ipAddress.type,
        state.subnetAddresses(record),
      );
      // Gone meanwhile (deleted or updated): the next settle frees the address.
      record = state.assignAddress(record.resourceGroup, record.name, address) ?? record;
    }
    await deps.settle();
    res
      .status(result.created ? 201 : 200)
      .set(result.headers)
      .set('azure-asyncoperation', operationUrl(deps, record.spec.location, result.operationId))
      .json(groupView(record, now, { instanceView: true }));
  });
  router.patch(GROUP, (req, res) => {
    const now = clock();
    res.json(groupView(state.patchTags(...target(req), jsonBody(req), now), now, { instanceView: true }));
  });
  router.delete(GROUP, async (req, res) => {
    const now = clock();
    const { record, headers } = state.deleteGroup(...target(req), now);
    await deps.settle();
    if (record) res.set(headers).json(groupView(record, now, { instanceView: true }));
    else res.status(204).end();
  });
  router.post(`${GROUP}/restart`, async (req, res) => {
    state.reprovisionGroup(...target(req), 'Restart', clock());
    await deps.settle();
    res.status(204).end();
  });
  router.post(`${GROUP}/stop`, async (req, res) => {
    state.stopGroup(...target(req), clock());
    await deps.settle();
    res.status(204).end();
  });
  router.post(`${GROUP}/start`, async (req, res) => {
    const { operationId, location } = state.reprovisionGroup(...target(req), 'Start', clock());
    await deps.settle();
    res
      .status(202)
      .set('azure-asyncoperation', operationUrl(deps, location, operationId))
      .end();
  });
}

function containerRoutes(router: Router, deps: ArmRoutesDependencies): void {
  const { state, clock } = deps;
  const target = (req: Request): { resourceGroup: string; name: string; container: string } => ({
    resourceGroup: param(req, 'resourceGroup'),
    name: param(req, 'name'),
    container: param(req, 'container'),
  });
  router.get(`${CONTAINER}/logs`, (req, res) => {
    const tailText = queryString(req, 'tail');
    const tail = tailText === undefined ? undefined : Number.parseInt(tailText, 10);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
      throw new ArmError(
        400,
        'InvalidParameter',
        `The value '${String(tailText)}' of parameter 'tail' is invalid.`,
      );
    }
    const timestamps = queryString(req, 'timestamps') === 'true';
    res.json({
      content: state.logs(target(req), { ...(tail !== undefined && { tail }), timestamps }, clock()),
    });
  });
  router.post(`${CONTAINER}/exec`, (req, res) => {
    const body = jsonBody(req);
    const request = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const command = request['command'];
    if (typeof command !== 'string' || command.trim() === '') {
      throw invalidContent("Required property 'command' not found in JSON. Path ''");
    }
    const terminalSize = parseTerminalSize(request['terminalSize']);
    const session = state.openSession(target(req), { kind: 'exec', command, terminalSize }, clock());
    const uri = streamUri(deps, 'execstream', session.id);
    uri.searchParams.set('rows', String(terminalSize.rows));
    uri.searchParams.set('cols', String(terminalSize.cols));
    res.json({ webSocketUri: uri.toString(), password: session.password });
  });
  router.post(`${CONTAINER}/attach`, (req, res) => {
    const terminalSize = { rows: 24, cols: 80 };
    const session = state.openSession(target(req), { kind: 'attach', command: '', terminalSize }, clock());
    res.json({
      webSocketUri: streamUri(deps, 'attachstream', session.id).toString(),
      password: session.password,
    });
  });
}

/** Azure's exec URI shape (the attach path is unconfirmed: the same shape under attachstream). */
function streamUri(deps: ArmRoutesDependencies, kind: 'execstream' | 'attachstream', id: string): URL {
  const uri = new URL(`${deps.endpoint().replace(/^https:/, 'wss:')}/${kind}/sessionId/${id}`);
  uri.searchParams.set('api-version', '1.0');
  return uri;
}

/** rows and cols, 1 to 10000 each (24x80 when absent). */
function parseTerminalSize(value: unknown): { rows: number; cols: number } {
  const size = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const dimension = (name: 'rows' | 'cols', fallback: number): number => {
    const given = size[name];
    if (given === undefined) return fallback;
    if (typeof given !== 'number' || !Number.isInteger(given) || given < 1 || given > 10_000) {
      throw invalidContent(
        `Property '${name}' must be an integer from 1 to 10000. Path 'terminalSize.${name}'`,
      );
    }
    return given;
  };
  return { rows: dimension('rows', 24), cols: dimension('cols', 80) };
}

function locationRoutes(router: Router, deps: ArmRoutesDependencies): void {
  const { state, clock } = deps;
  router.get(`${LOCATION}/operations/:operationId`, (req, res) => {
    res.json(operationView(state.operation(param(req, 'location'), param(req, 'operationId')), clock()));
  });
  router.get(`${LOCATION}/usages`, (req, res) => {
    const location = param(req, 'location');
    res.json({
      value: state.usages(location).map((usage) => ({
        id: `/subscriptions/${state.config.subscriptionId}${PROVIDER}/locations/${location}/usages/${usage.name}`,
        unit: 'Count',
        currentValue: usage.currentValue,
        limit: usage.limit,
        name: { value: usage.name, localizedValue: usage.localizedName },
      })),
    });
  });
  router.get(`${LOCATION}/capabilities`, (req, res) => {
    const location = param(req, 'location');
    const { limits } = state.config;
    const capability = (osType: string, ipAddressType: string): object => ({
      resourceType: 'containerGroups',
      osType,
      location,
      ipAddressType,
      gpu: 'None',
      capabilities: {
        maxMemoryInGB: limits.maxMemoryGbPerGroup,
        maxCpu: limits.maxCpuPerGroup,
        maxGpuCount: 0,
      },
    });
    res.json({
      value: [capability('Linux', 'Public'), capability('Linux', 'Private'), capability('Windows', 'Public')],
    });
  });
}
