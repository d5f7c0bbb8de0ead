// Container group IP addresses and what listens on them. Two modes:
// - `loopback`: each group gets its own address in 127.0.0.0/8 (never in 127.0.0.0/16, so never
//   127.0.0.1), starting from a random point per emulator; the address is claimed by binding a UDP
//   socket on it (port CLAIM_PORT), so emulators running at the same time on one machine never hand out
//   the same address. While a container runs, each TCP port it declares has a real HTTP listener on
//   the group's address (a tiny responder, see respond()). Linux routes all of 127/8 to lo.
// - `documentation`: fake addresses that route nowhere (RFC 5737 TEST-NETs for public groups, 10.0.x.y
//   for private ones), stable per group, and no listeners.
// A group in a subnet (virtual-networks.ts) gets an address of the subnet's range instead, from a
// random point per emulator, skipping those its other groups hold. In loopback mode a subnet in
// 127.1.0.0-127.255.255.255 is claimed and served like any other address; a subnet elsewhere (a
// private range, which EndpointSlices need: Kubernetes refuses loopback endpoints) is only handed out:
// no claim, no listeners, nothing the emulator dials.
import { createSocket, type Socket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Logger } from '../../runtime/logger.ts';
import type { RequestLog } from './request-log.ts';
import { type AddressPool, numberToIp, poolSize, servedOnLoopback } from './virtual-networks.ts';

export type AddressMode = 'loopback' | 'documentation';

/** The UDP port whose binding claims an address for one emulator. */
export const CLAIM_PORT = 47_819;
/** Addresses tried before giving up on claiming (then the address is used unclaimed, and logged). */
const CLAIM_ATTEMPTS = 64;
/** 127.1.0.1 … 127.254.255.254: second octet 1-254, third 0-255, last 1-254. */
const LOOPBACK_SPACE = 254 * 256 * 254;
const TEST_NETS = ['192.0.2', '198.51.100', '203.0.113'];

export interface ListenerSpec {
  address: string;
  port: number;
  group: string;
  container: string;
}

export interface GroupNetworkDependencies {
  mode: AddressMode;
  /** In [0, 1): where this emulator starts in the loopback space. */
  random: () => number;
  logger: Logger;
  requestLog: RequestLog;
  clock: () => number;
}

/** The i-th loopback address of the space. */
export function loopbackAddress(index: number): string {
  const i = ((index % LOOPBACK_SPACE) + LOOPBACK_SPACE) % LOOPBACK_SPACE;
  const last = (i % 254) + 1;
  const third = Math.floor(i / 254) % 256;
  const second = Math.floor(i / (254 * 256)) + 1;
  return `127.${second}.${third}.${last}`;
}

/** A stable address that routes nowhere, from the group's id. */
export function documentationAddress(groupId: string, type: 'Public' | 'Private'): string {
  const digest = createHash('sha256').update(groupId).digest();
  const [a = 0, b = 0] = digest;
  return type === 'Private' ? `10.0.${a}.${(b % 250) + 4}` : `${TEST_NETS[a % 3] ?? ''}.${(b % 254) + 1}`;
}

function bindClaim(address: string): Promise<Socket | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error);
    });
    socket.bind(CLAIM_PORT, address, () => {
      socket.removeAllListeners('error');
      socket.unref();
      resolve(socket);
    });
  });
}

/** What every listener answers: who it is and what was asked. */
function respond(spec: ListenerSpec, method: string, path: string): string {
  return `hello from ${spec.group}/${spec.container} port ${spec.port}: ${method} ${path}\n`;
}

export class GroupNetwork {
  readonly mode: AddressMode;
  private readonly deps: GroupNetworkDependencies;
  private next: number;
  /** Claimed loopback addresses and the socket that holds each claim (undefined: held unclaimed). */
  private readonly claims = new Map<string, Socket | undefined>();
  /** `address:port` -> its server. */
  private readonly listeners = new Map<string, { spec: ListenerSpec; server: Server }>();
  /** Handed-out subnet addresses outside the loopback range: never bound, never served. */
  private readonly unserved = new Set<string>();
  /** `address:port` whose bind failed, with the run it failed for: not retried during that run. */
  private readonly failed = new Map<string, number>();

  constructor(deps: GroupNetworkDependencies) {
    this.deps = deps;
    this.mode = deps.mode;
    this.next = Math.floor(deps.random() * LOOPBACK_SPACE);
  }

  /** A new address for a group that asks for one; from `subnet`'s pool (minus `taken`) for a group in a subnet. */
  async claim(
    groupId: string,
    type: 'Public' | 'Private',
    subnet?: { pool: AddressPool; taken: ReadonlySet<string> },
  ): Promise<string> {
    if (subnet !== undefined) return this.claimFrom(subnet.pool, subnet.taken);
    if (this.mode === 'documentation') return documentationAddress(groupId, type);
    return this.claimAmong(
      (attempt) => (attempt < CLAIM_ATTEMPTS ? loopbackAddress(this.next++) : undefined),
      () => loopbackAddress(this.next++),
    );
  }

  /** Every address of the pool once, from a random point; the caller (state.ts) knows one is free. */
  private claimFrom(pool: AddressPool, taken: ReadonlySet<string>): Promise<string> {
    const size = poolSize(pool);
    const start = Math.floor(this.deps.random() * size);
    let tried = 0;
    const next = (): string | undefined => {
      while (tried < size) {
        const address = numberToIp(pool.first + ((start + tried++) % size));
        if (!taken.has(address) && !this.claims.has(address)) return address;
      }
      return undefined;
    };
    if (this.mode === 'loopback' && servedOnLoopback(pool)) {
      return this.claimAmong(next, () => numberToIp(pool.first + start));
    }
    // Addresses never dialled: nothing to bind, only to keep apart.
    const address = next() ?? numberToIp(pool.first);
    this.claims.set(address, undefined);
    if (this.mode === 'loopback') this.unserved.add(address);
    return Promise.resolve(address);
  }

  /** Claims the first candidate no one holds; when they run out, `fallback()`, unclaimed (and logged). */
  private async claimAmong(
    next: (attempt: number) => string | undefined,
    fallback: () => string,
  ): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const address = next(attempt);
      if (address === undefined) break;
      if (this.claims.has(address)) continue;
      this.claims.set(address, undefined);
      const claim = await bindClaim(address);
      if (!(claim instanceof Error)) {
        this.claims.set(address, claim);
        return address;
      }
      this.claims.delete(address);
      if (claim.code !== 'EADDRINUSE') {
        this.reportFailure(address, CLAIM_PORT, claim);
        this.claims.set(address, undefined);
        return address;
      }
    }
    const address = fallback();
    this.reportFailure(address, CLAIM_PORT, new Error('every address tried was claimed'));
    this.claims.set(address, undefined);
    return address;
  }

  /** Frees every claimed address not in `inUse`, with its listeners. */
  releaseExcept(inUse: ReadonlySet<string>): void {
    for (const [address, socket] of this.claims) {
      if (inUse.has(address)) continue;
      this.claims.delete(address);
      this.unserved.delete(address);
      socket?.close();
      this.setListeners(address, []);
    }
  }

  /** Makes the listeners on `address` exactly `wanted` (with the run each belongs to). */
  setListeners(address: string, wanted: readonly (ListenerSpec & { run: number })[]): Promise<void>[] {
    const keep = new Set(wanted.map((spec) => `${spec.address}:${spec.port}`));
    for (const [key, listener] of this.listeners) {
      if (listener.spec.address === address && !keep.has(key)) this.closeListener(key);
    }
    const opening: Promise<void>[] = [];
    if (this.unserved.has(address)) return opening;
    for (const spec of wanted) {
      const key = `${spec.address}:${spec.port}`;
      if (this.listeners.has(key) || this.failed.get(key) === spec.run) continue;
      opening.push(this.open(spec, key));
    }
    return opening;
  }

  private open(spec: ListenerSpec & { run: number }, key: string): Promise<void> {
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(respond(spec, req.method ?? 'GET', req.url ?? '/'));
    });
    this.listeners.set(key, { spec, server });
    return new Promise((resolve) => {
      server.once('error', (error) => {
        if (this.listeners.get(key)?.server === server) this.listeners.delete(key);
        this.failed.set(key, spec.run);
        this.reportFailure(spec.address, spec.port, error);
        resolve();
      });
      server.listen({ host: spec.address, port: spec.port, exclusive: true }, () => {
        // Closed while it was binding: the bind must not outlive it.
        if (this.listeners.get(key)?.server !== server) server.close();
        else this.deps.logger.debug({ address: spec.address, port: spec.port }, 'group listener open');
        resolve();
      });
    });
  }

  private closeListener(key: string): void {
    const listener = this.listeners.get(key);
    if (!listener) return;
    this.listeners.delete(key);
    listener.server.close();
    listener.server.closeAllConnections();
  }

  /** A bind that failed: logged and in the request log (method LISTEN), never fatal. */
  private reportFailure(address: string, port: number, error: Error): void {
    this.deps.logger.warn({ address, port, err: error }, 'cannot listen on a container group address');
    this.deps.requestLog.add({
      method: 'LISTEN',
      path: `/${address}:${port}`,
      query: '',
      status: 0,
      time: new Date(this.deps.clock()).toISOString(),
      durationMs: 0,
      error: error.message,
    });
  }

  /** Closes every listener and frees every claim. */
  close(): void {
    for (const key of [...this.listeners.keys()]) this.closeListener(key);
    for (const socket of this.claims.values()) socket?.close();
    this.claims.clear();
    this.unserved.clear();
  }
}
