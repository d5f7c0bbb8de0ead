// ACI's container events (Pulling, Pulled, Started, Killing, Failed, BackOff) as pod Events, each
// with a stable identity so a re-read instance view does not repeat what was already forwarded.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { PodEvent } from './ports.ts';
import { validDate } from './status.ts';

export interface ForwardableEvent {
  id: string;
  event: PodEvent;
}

export function forwardableEvents(group: ContainerGroup): ForwardableEvent[] {
  const containers = [...(group.initContainers ?? []), ...group.containers];
  return containers.flatMap((container) =>
    (container.instanceView?.events ?? []).map((aci) => {
      // An invalid date made toISOString throw, and the reconcile retry for ever.
      const first = validDate(aci.firstTimestamp)?.toISOString() ?? '';
      const reason = aci.name ?? 'ACIEvent';
      return {
        // A repeated event (count grows) is forwarded again, as a kubelet's repeated event would be.
        id: `${container.name}|${reason}|${first}|${aci.count ?? 1}`,
        event: {
          type: aci.type === 'Warning' ? 'Warning' : 'Normal',
          reason,
          message: `${container.name}: ${aci.message ?? reason}`,
        },
      };
    }),
  );
}
