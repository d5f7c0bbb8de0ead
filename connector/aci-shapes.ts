// ACI's answers as the SDK hands them over. Its types promise shapes, but it passes JSON through
// largely as it came: a list may be missing or an object, a count a string, a date invalid. The
// status mapping reads every value through these, so a strange answer makes a plainer status
// instead of an exception that retries the reconcile for ever, or a status the API server refuses.
import { isIP } from 'node:net';

/** The objects in the list (containers, events), or none when ACI sent something else. */
export function listOf<T extends object>(value: readonly T[] | undefined): readonly T[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item: T | null) => typeof item === 'object' && item !== null);
}

/** The text, or undefined when ACI sent something else. */
export function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A whole number of at least 0, or undefined. */
export function countOf(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) : undefined;
}

/** A whole number (an exit code may be negative on some runtimes), or undefined. */
export function integerOf(value: unknown): number | undefined {
  return Number.isInteger(value) ? (value as number) : undefined;
}

/** An IPv4 or IPv6 address, or undefined: the API server refuses a status with anything else. */
export function addressOf(value: unknown): string | undefined {
  return typeof value === 'string' && isIP(value) !== 0 ? value : undefined;
}

/**
 * The date when it is one: the SDK turns any text ACI sends into a Date, and an invalid one would be
 * reported as a time that never was (or throw, in toISOString).
 */
export function validDate(value: Date | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  return Number.isFinite(date.getTime()) ? date : undefined;
}
