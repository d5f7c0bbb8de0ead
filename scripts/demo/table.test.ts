import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import {
  PROVIDER,
  PROVIDER_LABEL,
  VIRTUAL_NODE_TYPE,
  VIRTUAL_NODE_TYPE_LABEL,
} from '../../contract/index.ts';
import { simulatedNode } from './simulated-node.ts';
import { formatColumns, renderTable } from './table.ts';

const virtualNode: V1Node = {
  metadata: {
    name: 'aci-connector',
    labels: { [VIRTUAL_NODE_TYPE_LABEL]: VIRTUAL_NODE_TYPE, [PROVIDER_LABEL]: PROVIDER },
  },
  status: { conditions: [{ type: 'Ready', status: 'False' }] },
};

function pod(namespace: string, name: string, status: V1Pod['status'], nodeName?: string): V1Pod {
  return {
    metadata: { namespace, name },
    spec: { containers: [], ...(nodeName !== undefined && { nodeName }) },
    ...(status !== undefined && { status }),
  };
}

describe('renderTable', () => {
  it('shows each node’s role and each pod’s phase, node and IP, sorted', () => {
    const lines = renderTable(
      [simulatedNode(new Date('2026-11-25T20:00:00Z')), virtualNode],
      [
        pod('demo', 'web-2', { phase: 'Running', podIP: '198.51.100.1' }, 'demo-worker-simulated'),
        pod('demo', 'nginx', { phase: 'Running', podIP: '20.1.2.3' }, 'aci-connector'),
        pod('demo', 'web-1', undefined),
      ],
    );
    assert.deepEqual(lines, [
      'NODE                   STATUS    ROLE',
      'aci-connector          NotReady  virtual node -> ACI (local emulator)',
      'demo-worker-simulated  Ready     SIMULATED worker (no kubelet)',
      '',
      'POD         PHASE    NODE                   IP',
      'demo/nginx  Running  aci-connector          20.1.2.3',
      'demo/web-1  Pending  <none>                 <none>',
      'demo/web-2  Running  demo-worker-simulated  198.51.100.1',
    ]);
  });
});

describe('formatColumns', () => {
  it('pads every column but the last to its widest cell', () => {
    assert.deepEqual(
      formatColumns([
        ['a', 'bb', 'c'],
        ['ccc', 'd', ''],
      ]),
      ['a    bb  c', 'ccc  d'],
    );
  });
});
