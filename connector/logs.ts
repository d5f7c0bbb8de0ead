// `kubectl logs` for pods on ACI. ACI returns a container's log as one document (optionally the last
// N lines, optionally with an RFC 3339 timestamp per line) and has no follow mode; this module turns
// the kubelet's options (tailLines, timestamps, sinceSeconds, sinceTime, limitBytes, follow) into
// that API, following by polling and emitting only lines newer than the last one sent.

export interface LogOptions {
  tailLines: number | undefined;
  timestamps: boolean;
  /** Lines at or after this instant only. */
  since: Date | undefined;
  limitBytes: number | undefined;
  follow: boolean;
  previous: boolean;
}

export type ParsedLogOptions = { ok: true; options: LogOptions } | { ok: false; message: string };

function nonNegativeInteger(value: string | null, name: string): number | undefined | Error {
  if (value === null || value === '') return undefined;
  const number = Number(value);
  return Number.isInteger(number) && number >= 0 ? number : new Error(`${name} must be a whole number >= 0`);
}

/**
 * The query of a request target in any of its forms: `/containerLogs/...?follow=true`, or the
 * absolute form `https://host:port/containerLogs/...?...` that HTTP/1.1 allows too. Never throws:
 * `new URL` throws on an absolute-form target with an invalid host, which once crashed the process.
 */
export function requestQuery(target: string): URLSearchParams {
  const start = target.indexOf('?');
  return new URLSearchParams(start === -1 ? '' : target.slice(start + 1));
}

export function parseLogOptions(query: URLSearchParams, now: Date): ParsedLogOptions {
  const tailLines = nonNegativeInteger(query.get('tailLines'), 'tailLines');
  const limitBytes = nonNegativeInteger(query.get('limitBytes'), 'limitBytes');
  const sinceSeconds = nonNegativeInteger(query.get('sinceSeconds'), 'sinceSeconds');
  for (const value of [tailLines, limitBytes, sinceSeconds]) {
    if (value instanceof Error) return { ok: false, message: value.message };
  }
  const sinceTime = query.get('sinceTime');
  if (sinceTime !== null && Number.isNaN(Date.parse(sinceTime))) {
    return { ok: false, message: 'sinceTime must be an RFC 3339 time' };
  }
  const since =
    sinceTime !== null
      ? new Date(sinceTime)
      : typeof sinceSeconds === 'number'
        ? new Date(now.getTime() - sinceSeconds * 1000)
        : undefined;
  return {
    ok: true,
    options: {
      tailLines: tailLines as number | undefined,
      limitBytes: limitBytes as number | undefined,
      since,
      timestamps: query.get('timestamps') === 'true',
      follow: query.get('follow') === 'true',
      previous: query.get('previous') === 'true',
    },
  };
}

export interface LogLine {
  /** Parsed from ACI's timestamp prefix; undefined when a line had none. */
  time: Date | undefined;
  /** The whole line as ACI sent it, timestamp included. */
  raw: string;
  /** The line without its timestamp. */
  text: string;
}

const TIMESTAMPED = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))\s(.*)$/s;

/** Splits a log document fetched with timestamps=true into lines. */
export function splitLog(content: string): LogLine[] {
  const lines = content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((raw) => {
    const match = TIMESTAMPED.exec(raw);
    return match
      ? { time: new Date(match[1] ?? ''), raw, text: match[2] ?? '' }
      : { time: undefined, raw, text: raw };
  });
}

/** The lines to send now: after `since` and after `after` (the last line already sent when following). */
export function selectLines(lines: LogLine[], options: LogOptions, after: Date | undefined): LogLine[] {
  return lines.filter((line) => {
    if (line.time === undefined) return after === undefined;
    if (options.since !== undefined && line.time < options.since) return false;
    return after === undefined || line.time > after;
  });
}

export function renderLines(lines: LogLine[], timestamps: boolean): string {
  return lines.map((line) => `${timestamps ? line.raw : line.text}\n`).join('');
}
