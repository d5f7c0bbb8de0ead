// The one place the processes turn an expected API-server answer (404 on a read, 409 on a write) into a
// value, so callers branch on `undefined` instead of catching; anything else is thrown classified.
import { classifyKubernetesError, type FailureKind } from './errors.ts';

export async function unlessKind<T>(call: Promise<T>, expected: FailureKind): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    const classified = classifyKubernetesError(error);
    if (classified.kind === expected) return undefined;
    throw classified;
  }
}
