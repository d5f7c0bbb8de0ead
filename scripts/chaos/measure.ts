// What a chaos run is judged by, read from the emulator's request log: pure functions of the entries.
import type { RequestLogEntry } from '../../test/emulator/request-log.ts';

const GROUP_PATH = /\/containerGroups\/([^/]+)$/;
/** Log times have millisecond resolution and the emulator stamps arrival: a little slack, never more. */
const RETRY_AFTER_SLACK_MS = 50;

function groupOf(entry: RequestLogEntry): string | undefined {
  return GROUP_PATH.exec(entry.path)?.[1];
}

/** Whether the emulator acted on the request (a connection dropped after the request was applied counts). */
function applied(entry: RequestLogEntry): boolean {
  const status = entry.status === 0 ? entry.appliedStatus : entry.status;
  return status !== undefined && status >= 200 && status < 300;
}

function byArrival(entries: readonly RequestLogEntry[]): RequestLogEntry[] {
  return entries.toSorted((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

export interface CreateFigures {
  /** PUTs that created a group that did not exist. */
  creates: number;
  /** PUTs applied to a group that already existed: a create sent twice replaces a group (and restarts it). */
  duplicates: number;
  duplicateGroups: string[];
}

/**
 * Creates and duplicate creates of the groups whose names start with `prefix`, replaying the log in
 * arrival order: a group exists from an applied PUT until an applied DELETE.
 */
export function createFigures(entries: readonly RequestLogEntry[], prefix: string): CreateFigures {
  const existing = new Set<string>();
  const duplicateGroups = new Set<string>();
  let creates = 0;
  let duplicates = 0;
  for (const entry of byArrival(entries)) {
    const group = groupOf(entry);
    if (group === undefined || !group.startsWith(prefix) || !applied(entry)) continue;
    if (entry.method === 'DELETE') existing.delete(group);
    if (entry.method !== 'PUT') continue;
    if (existing.has(group)) {
      duplicates += 1;
      duplicateGroups.add(group);
    } else {
      creates += 1;
      existing.add(group);
    }
  }
  return { creates, duplicates, duplicateGroups: [...duplicateGroups] };
}

export interface RetryAfterFigures {
  /** Answers that carried a Retry-After. */
  retryAfters: number;
  /** The same request sent again sooner than its Retry-After allowed. */
  unhonoured: number;
  examples: string[];
}

/**
 * For every answer with a Retry-After, the next request with the same method, path and query must
 * arrive no sooner than the answer plus Retry-After.
 */
export function retryAfterFigures(entries: readonly RequestLogEntry[]): RetryAfterFigures {
  const sorted = byArrival(entries);
  const nextSame = new Map<string, number>();
  const following: (RequestLogEntry | undefined)[] = Array.from({ length: sorted.length });
  for (let index = sorted.length - 1; index >= 0; index--) {
    const entry = sorted[index];
    if (entry === undefined) continue;
    const key = `${entry.method} ${entry.path}${entry.query}`;
    const next = nextSame.get(key);
    following[index] = next === undefined ? undefined : sorted[next];
    nextSame.set(key, index);
  }
  let retryAfters = 0;
  const examples: string[] = [];
  let unhonoured = 0;
  sorted.forEach((entry, index) => {
    if (entry.retryAfterSeconds === undefined) return;
    retryAfters += 1;
    const next = following[index];
    if (next === undefined) return;
    const allowedAt = Date.parse(entry.time) + entry.durationMs + entry.retryAfterSeconds * 1000;
    const early = allowedAt - Date.parse(next.time);
    if (early <= RETRY_AFTER_SLACK_MS) return;
    unhonoured += 1;
    if (examples.length < 5) examples.push(`${entry.method} ${entry.path}: ${early} ms early`);
  });
  return { retryAfters, unhonoured, examples };
}

/** How many requests met each injected fault. */
export function faultCounts(entries: readonly RequestLogEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of entries) {
    for (const fault of entry.faults ?? []) counts[fault] = (counts[fault] ?? 0) + 1;
  }
  return counts;
}

export interface TokenRequestFigures {
  /** Requests to Entra ID's token endpoint. */
  requests: number;
  /** Of them, those never answered (fault `hang`): the client gave up, or the run ended. */
  hung: number;
  /** The most that were open at once: one per SDK client at most, however many calls wait for a token. */
  peakOpen: number;
  /** The longest a client waited for an unanswered one, in ms (its request timeout). */
  longestHungMs: number;
}

/** The token requests of the log: how many, how many hung, and how many were open at once. */
export function tokenRequestFigures(entries: readonly RequestLogEntry[]): TokenRequestFigures {
  const requests = entries.filter((e) => e.method === 'POST' && e.path.endsWith('/oauth2/v2.0/token'));
  const hung = requests.filter((e) => e.faults?.includes('hang') === true);
  // Closes before opens at the same instant: a request sent as the last one ended was not open beside it.
  const edges = requests
    .flatMap((e) => {
      const start = Date.parse(e.time);
      return [
        { at: start, open: 1 },
        { at: start + e.durationMs, open: -1 },
      ];
    })
    .sort((a, b) => a.at - b.at || a.open - b.open);
  let open = 0;
  let peakOpen = 0;
  for (const edge of edges) {
    open += edge.open;
    peakOpen = Math.max(peakOpen, open);
  }
  return {
    requests: requests.length,
    hung: hung.length,
    peakOpen,
    longestHungMs: Math.max(0, ...hung.map((e) => e.durationMs)),
  };
}
