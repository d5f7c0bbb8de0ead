// The faults that act on the connection rather than on the answer, alike for ARM and Entra ID.
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault } from './faults.ts';

/**
 * Applies `fault` if it acts on the connection: `latency` waits, `drop` closes the connection, `hang`
 * leaves the request unanswered (the client's own timeout ends it). True when the request ends here.
 */
export async function endedByConnectionFault(fault: Fault, socket: Socket): Promise<boolean> {
  switch (fault.kind) {
    case 'latency':
      await sleep(fault.latencyMs ?? 1000);
      return false;
    case 'drop':
      socket.destroy();
      return true;
    case 'hang':
      // (unconfirmed) how long Azure's front ends hold such a request open: here, until the client gives up.
      return true;
    default:
      return false;
  }
}
