import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { checkPod, DEFAULT_ACI_LIMITS } from './capability.ts';
import { imageConfigRequests } from './image-config.ts';
import { DEFAULT_NETWORK_SETTINGS } from './network.ts';
import { type GroupSettings, toContainerGroup, type Translation } from './translate.ts';
import type { ImageConfig, Problem, ReferencedObjects } from './types.ts';

const settings: GroupSettings = {
  region: 'westus',
  nodeName: 'aci-connector',
  clusterId: 'c',
  limits: DEFAULT_ACI_LIMITS,
  network: DEFAULT_NETWORK_SETTINGS,
};
const NGINX: ImageConfig = {
  entrypoint: ['/docker-entrypoint.sh'],
  cmd: ['nginx', '-g', 'daemon off;'],
  workingDir: '',
};
const BUSYBOX: ImageConfig = { entrypoint: [], cmd: ['sh'], workingDir: '' };
const APP: ImageConfig = { entrypoint: ['/app/$(NOT_EXPANDED)'], cmd: ['--default'], workingDir: '/srv/app' };
const EMPTY: ImageConfig = { entrypoint: [], cmd: [], workingDir: '' };

function podWith(container: Partial<V1Container>): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'team', uid: 'u' },
    spec: {
      containers: [{ name: 'c', image: 'img:1', env: [{ name: 'WHO', value: 'world' }], ...container }],
    },
  };
}

function objectsWith(image: ImageConfig | undefined): ReferencedObjects {
  return {
    configMaps: new Map(),
    secrets: new Map(),
    serviceAccount: undefined,
    images: new Map(image ? [['img:1', image]] : []),
  };
}

function commandOf(translation: Translation): string[] | undefined {
  if (translation.kind !== 'ready') assert.fail(JSON.stringify(translation));
  return translation.group.containers[0]?.command;
}

function problemsOf(translation: Translation): Problem[] {
  if (translation.kind === 'ready') assert.fail('expected problems');
  return translation.problems;
}

type Expected = { command: string[] | undefined } | { problem: Pick<Problem, 'path' | 'kind'> };

const SCRIPT = 'cd "$0" && exec "$@"';

describe('the command line from the pod and the image, as a container runtime combines them', () => {
  const cases: {
    name: string;
    container: Partial<V1Container>;
    image: ImageConfig | undefined;
    shell?: string;
    expected: Expected;
  }[] = [
    {
      name: 'neither: the image decides (no lookup)',
      container: {},
      image: undefined,
      expected: { command: undefined },
    },
    {
      name: 'command: unchanged, args appended (no lookup)',
      container: { command: ['/bin/app'], args: ['$(WHO)'] },
      image: undefined,
      expected: { command: ['/bin/app', 'world'] },
    },
    {
      name: "args without command: the image's ENTRYPOINT, then args",
      container: { args: ['-c', '/etc/nginx/$(WHO).conf'] },
      image: NGINX,
      expected: { command: ['/docker-entrypoint.sh', '-c', '/etc/nginx/world.conf'] },
    },
    {
      name: 'args without command and no ENTRYPOINT: args alone (they replace CMD)',
      container: { args: ['sleep', '3600'] },
      image: BUSYBOX,
      expected: { command: ['sleep', '3600'] },
    },
    {
      name: "the image's ENTRYPOINT is never $(NAME)-expanded",
      container: { args: ['x'] },
      image: APP,
      expected: { command: ['/app/$(NOT_EXPANDED)', 'x'] },
    },
    {
      name: 'args without command, configuration not supplied: waits for it',
      container: { args: ['x'] },
      image: undefined,
      expected: { problem: { path: 'spec.containers[0].image', kind: 'missing-reference' } },
    },
    {
      name: "workingDir equal to the image's WORKDIR (trailing slash aside): nothing to do",
      container: { workingDir: '/srv/app/' },
      image: APP,
      expected: { command: undefined },
    },
    {
      name: 'workingDir / on an image without WORKDIR: nothing to do',
      container: { workingDir: '/', args: ['x'] },
      image: BUSYBOX,
      expected: { command: ['x'] },
    },
    {
      name: 'another workingDir without a shell: refused',
      container: { workingDir: '/data' },
      image: APP,
      expected: { problem: { path: 'spec.containers[0].workingDir', kind: 'unsupported' } },
    },
    {
      name: 'another workingDir with a shell and a command: wrapped',
      container: { workingDir: '/data', command: ['/bin/app'], args: ['$(WHO)'] },
      image: APP,
      shell: '/bin/sh',
      expected: { command: ['/bin/sh', '-c', SCRIPT, '/data', '/bin/app', 'world'] },
    },
    {
      name: "another workingDir with a shell, neither: the image's ENTRYPOINT and CMD, wrapped",
      container: { workingDir: '/data' },
      image: APP,
      shell: '/bin/sh',
      expected: { command: ['/bin/sh', '-c', SCRIPT, '/data', '/app/$(NOT_EXPANDED)', '--default'] },
    },
    {
      name: 'another workingDir with a shell, args only: ENTRYPOINT and args, wrapped',
      container: { workingDir: '/data', args: ['x'] },
      image: NGINX,
      shell: '/bin/sh',
      expected: { command: ['/bin/sh', '-c', SCRIPT, '/data', '/docker-entrypoint.sh', 'x'] },
    },
    {
      name: 'another workingDir with a shell but nothing to run: refused',
      container: { workingDir: '/data' },
      image: EMPTY,
      shell: '/bin/sh',
      expected: { problem: { path: 'spec.containers[0].workingDir', kind: 'unsupported' } },
    },
  ];
  for (const { name, container, image, shell, expected } of cases) {
    it(name, () => {
      const translation = toContainerGroup(podWith(container), objectsWith(image), {
        ...settings,
        workingDirShell: shell,
      });
      if ('command' in expected) {
        assert.deepEqual(commandOf(translation), expected.command);
      } else {
        assert.deepEqual(
          problemsOf(translation).map(({ path, kind }) => ({ path, kind })),
          [expected.problem],
        );
      }
    });
  }

  it('names the directories and the setting in a refusal', () => {
    const translation = toContainerGroup(podWith({ workingDir: '/data' }), objectsWith(APP), settings);
    const [problem] = problemsOf(translation);
    assert.match(problem?.message ?? '', /starts in "\/srv\/app", not "\/data"/);
    assert.match(problem?.fix ?? '', /ACI_WORKING_DIR_SHELL/);
  });

  it('leaves args without command and workingDir to the connector when checking without images', () => {
    const pod = podWith({ args: ['x'], workingDir: '/data' });
    assert.deepEqual(checkPod(pod), []);
    assert.deepEqual(
      checkPod(pod, { configMaps: new Map(), secrets: new Map(), serviceAccount: { metadata: {} } }),
      [],
    );
  });

  it('looks images up for init containers too', () => {
    const pod: V1Pod = {
      metadata: { name: 'p', namespace: 'team' },
      spec: {
        initContainers: [{ name: 'i', image: 'img:1', args: ['migrate'] }],
        containers: [{ name: 'c', image: 'other:2', command: ['run'] }],
      },
    };
    const translation = toContainerGroup(pod, objectsWith(BUSYBOX), settings);
    if (translation.kind !== 'ready') assert.fail(JSON.stringify(translation));
    assert.deepEqual(translation.group.initContainers?.[0]?.command, ['migrate']);
  });
});

describe('imageConfigRequests', () => {
  it('lists each image that needs its configuration once, init containers first', () => {
    const pod: V1Pod = {
      spec: {
        initContainers: [{ name: 'i', image: 'init:1', workingDir: '/w' }],
        containers: [
          { name: 'a', image: 'web:1', args: ['--port=80'] },
          { name: 'b', image: 'web:1', args: ['--port=81'] },
          { name: 'c', image: 'plain:1' },
          { name: 'd', image: 'cmd:1', command: ['x'], args: ['y'] },
          { name: 'e', args: ['no image'] },
        ],
      },
    };
    assert.deepEqual(imageConfigRequests(pod), ['init:1', 'web:1']);
  });

  it('is empty for pods that never need a registry', () => {
    assert.deepEqual(imageConfigRequests(podWith({ command: ['a'] })), []);
    assert.deepEqual(imageConfigRequests(podWith({})), []);
  });
});
