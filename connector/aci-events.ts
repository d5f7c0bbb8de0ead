// ACI's container events (Pulling, Pulled, Started, Killing, Failed, BackOff) as pod Events, each
// with a stable identity so a re-read instance view does not repeat what was already forwarded.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { countOf, listOf, textOf, validDate } from './aci-shapes.ts';
import type { PodEvent } from './ports.ts';

export interface ForwardableEvent {
  id: string;
  event: PodEvent;
}

export function forwardableEvents(group: ContainerGroup): ForwardableEvent[] {
  const containers = [...listOf(group.initContainers), ...listOf(group.containers)];
  return containers.flatMap((container) =>
    listOf(container.instanceView?.events).map((aci) => {
      // An invalid date made toISOString throw, and the reconcile retry for ever.
      const first = validDate(aci.firstTimestamp)?.toISOString() ?? '';
      const reason = textOf(aci.name) || 'ACIEvent';
      const name = textOf(container.name) ?? '';
      return {
        // A repeated event (count grows) is forwarded again, as a kubelet's repeated event would be.
        id: `${name}|${reason}|${first}|${countOf(aci.count) ?? 1}`,
        event: {
          type: aci.type === 'Warning' ? 'Warning' : 'Normal',
          reason,
          message: `${name}: ${textOf(aci.message) ?? reason}`,
        },
      };
    }),
  );
}
