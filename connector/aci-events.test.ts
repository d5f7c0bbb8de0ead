import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { forwardableEvents } from './aci-events.ts';

function groupWithEvent(firstTimestamp: Date): ContainerGroup {
  return {
    osType: 'Linux',
    containers: [
      {
        name: 'nginx',
        image: 'nginx',
        resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
        instanceView: {
          events: [{ name: 'Pulling', message: 'pulling image', type: 'Normal', count: 1, firstTimestamp }],
        },
      },
    ],
  };
}

describe('forwardableEvents', () => {
  it('identifies an event by container, reason, first time and count', () => {
    const [event] = forwardableEvents(groupWithEvent(new Date('2026-11-25T19:59:30Z')));
    assert.deepEqual(event, {
      id: 'nginx|Pulling|2026-11-25T19:59:30.000Z|1',
      event: { type: 'Normal', reason: 'Pulling', message: 'nginx: pulling image' },
    });
  });

  it('forwards events whose fields are not what the SDK types promise (found by npm run fuzz)', () => {
    const group = groupWithEvent(new Date('2026-11-25T19:59:30Z'));
    const [container] = group.containers;
    assert.ok(container?.instanceView?.events?.[0]);
    Object.assign(container.instanceView.events[0], { name: 5, message: {}, count: 'many' });
    assert.deepEqual(forwardableEvents(group)[0], {
      id: 'nginx|ACIEvent|2026-11-25T19:59:30.000Z|1',
      event: { type: 'Normal', reason: 'ACIEvent', message: 'nginx: ACIEvent' },
    });
    assert.deepEqual(forwardableEvents({ ...group, containers: undefined } as unknown as ContainerGroup), []);
    container.instanceView.events.unshift(null as never);
    assert.equal(forwardableEvents(group).length, 1);
  });

  it('forwards an event whose date is invalid instead of throwing (which retried for ever)', () => {
    const [event] = forwardableEvents(groupWithEvent(new Date('yesterday-ish')));
    assert.equal(event?.id, 'nginx|Pulling||1');
  });
});
