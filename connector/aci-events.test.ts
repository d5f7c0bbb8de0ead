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

  it('forwards an event whose date is invalid instead of throwing (which retried for ever)', () => {
    const [event] = forwardableEvents(groupWithEvent(new Date('yesterday-ish')));
    assert.equal(event?.id, 'nginx|Pulling||1');
  });
});
