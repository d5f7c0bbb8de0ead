// kubectl exec's and attach's path: the exec and attach APIs hand out a websocket URI and a password;
// the exec websocket is a terminal in front of the emulated shell, the attach websocket streams output.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { WebSocket } from 'ws';
import { MAX_PENDING_SESSIONS } from './state.ts';
import { connectorLine, containerGroup, FAST_POLL, startHarness, type EmulatorHarness } from './testing.ts';

interface Stream {
  socket: WebSocket;
  /** Everything received so far. */
  text(): string;
  /** Resolves once the received text satisfies `done`; rejects if the socket closes first. */
  until(done: (text: string) => boolean): Promise<string>;
  closed: Promise<{ code: number; reason: string }>;
}

async function connect(uri: string, caPem: string, headers: Record<string, string> = {}): Promise<Stream> {
  const socket = new WebSocket(uri, { ca: caPem, headers });
  let received = '';
  const waiters = new Set<() => void>();
  socket.on('message', (data: Buffer) => {
    received += data.toString('utf8');
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      for (const waiter of waiters) waiter();
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const until = (done: (text: string) => boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (done(received)) {
          waiters.delete(check);
          resolve(received);
        } else if (socket.readyState === socket.CLOSED) {
          waiters.delete(check);
          reject(new Error(`closed before the expected output; got ${JSON.stringify(received)}`));
        }
      };
      waiters.add(check);
      check();
    });
  return { socket, text: () => received, until, closed };
}

/** What follows the connector's begin marker. */
function afterMarker(text: string, nonce: string): string {
  const marker = `\x1e${nonce}B\x1e\n`;
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `no begin marker in ${JSON.stringify(text)}`);
  return text.slice(at + marker.length);
}

describe('exec over the websocket', { timeout: 30_000 }, () => {
  let harness: EmulatorHarness;
  let rg: string;
  before(async () => {
    harness = await startHarness({ addresses: 'documentation' });
    rg = harness.emulator.resourceGroup;
    const group = containerGroup(
      harness.emulator.region,
      {},
      {
        volumes: [
          { name: 'config', secret: { 'app.conf': Buffer.from('mode=burst\n').toString('base64') } },
          { name: 'scratch', emptyDir: {} },
        ],
      },
    );
    const container = group.containers[0];
    assert.ok(container);
    container.environmentVariables = [
      { name: 'GREETING', value: 'hello' },
      { name: 'API_KEY', secureValue: 's3cr3t' },
    ];
    container.volumeMounts = [
      { name: 'config', mountPath: '/etc/app' },
      { name: 'scratch', mountPath: '/scratch' },
    ];
    await harness.client.containerGroups.beginCreateOrUpdateAndWait(rg, 'exec-1', group, FAST_POLL);
  });
  after(() => harness.close());

  const exec = (command: string, group = 'exec-1') =>
    harness.client.containers.executeCommand(rg, group, 'app', {
      command,
      terminalSize: { rows: 24, cols: 80 },
    });

  const session = async (command: string, group = 'exec-1'): Promise<Stream> => {
    const reply = await exec(command, group);
    const stream = await connect(reply.webSocketUri ?? '', harness.emulator.caPem);
    stream.socket.send(reply.password ?? '');
    return stream;
  };

  it("returns a wss URI in Azure's shape and a password", async () => {
    const reply = await exec('/bin/sh');
    assert.match(
      reply.webSocketUri ?? '',
      /^wss:\/\/127\.0\.0\.1:\d+\/execstream\/sessionId\/[0-9a-f-]{36}\?api-version=1\.0&rows=24&cols=80$/,
    );
    assert.ok((reply.password ?? '').length >= 16);
  });

  it('is a terminal: a prompt, input echoed, \\r\\n line endings, stderr in the same stream', async () => {
    const shell = await session('/bin/sh');
    shell.socket.send(Buffer.from('echo $GREETING world; ls /nope\n'));
    const text = await shell.until((t) => t.endsWith('# ') && t.length > 2);
    assert.equal(
      text,
      '# echo $GREETING world; ls /nope\r\nhello world\r\nls: /nope: No such file or directory\r\n# ',
    );
    shell.socket.send('exit 0\n');
    assert.deepEqual(await shell.closed, { code: 1000, reason: '' }, 'no exit code is reported');
  });

  it('sees the container: env with secure values, files of mounted volumes', async () => {
    const shell = await session('/bin/sh');
    shell.socket.send('stty -echo -onlcr; env; ls /; cat /etc/app/app.conf; exit\n');
    await shell.closed;
    assert.match(shell.text(), /^GREETING=hello$/m);
    assert.match(
      shell.text(),
      /^API_KEY=s3cr3t$/m,
      'inside the container a secure value is a plain variable',
    );
    assert.ok(shell.text().endsWith('etc\nscratch\nmode=burst\n'));
  });

  it("runs the connector's line: arguments arrive intact, the exit status comes between markers", async () => {
    const shell = await session('/bin/sh');
    const argv = [
      'sh',
      '-c',
      'printf "[%s]" "$@"; echo err >&2; exit 3',
      'sh',
      "it's",
      '$(echo pwned)',
      '`id`',
      'a\nb',
    ];
    shell.socket.send(connectorLine('c0ffee', argv, { stdin: false, tty: false }));
    assert.deepEqual(await shell.closed, { code: 1000, reason: '' });
    assert.equal(
      afterMarker(shell.text(), 'c0ffee'),
      "[it's][$(echo pwned)][`id`][a\nb]err\n\x1ec0ffeeE3\x1e\n",
    );
  });

  it('round-trips stdin through cat (kubectl exec -i), input in binary frames ending with ^D', async () => {
    const shell = await session('/bin/sh');
    shell.socket.send(connectorLine('d1', ['cat'], { stdin: true, tty: false }));
    await shell.until((t) => t.includes('\x1ed1B\x1e\n'));
    shell.socket.send(Buffer.from('line one\nline tw'));
    shell.socket.send(Buffer.from('o\n\x04'));
    await shell.closed;
    assert.equal(afterMarker(shell.text(), 'd1'), 'line one\nline two\n\x1ed1E0\x1e\n');
  });

  it('runs a single program and closes; a command with arguments names no program', async () => {
    const single = await session('hostname');
    await single.closed;
    assert.equal(single.text(), 'exec-1\r\n');
    const spaced = await session('echo one-shot');
    await spaced.closed;
    assert.match(
      spaced.text(),
      /^OCI runtime exec failed: .*exec: "echo one-shot": executable file not found in \$PATH/,
    );
  });

  it('closes the session on a wrong password, and a session URI works once', async () => {
    const reply = await exec('/bin/sh');
    const stream = await connect(reply.webSocketUri ?? '', harness.emulator.caPem);
    stream.socket.send('not-the-password');
    assert.deepEqual(await stream.closed, { code: 1008, reason: 'invalid password' });
    await assert.rejects(
      connect(reply.webSocketUri ?? '', harness.emulator.caPem),
      /Unexpected server response: 404/,
    );
  });

  it('answers exec of a shell in an image without one with the runtime’s error', async () => {
    await harness.client.containerGroups.beginCreateOrUpdateAndWait(
      rg,
      'distroless-1',
      containerGroup(harness.emulator.region, { image: 'gcr.io/distroless/static:nonroot' }),
      FAST_POLL,
    );
    const shell = await session('/bin/sh', 'distroless-1');
    assert.equal((await shell.closed).code, 1000);
    assert.equal(
      shell.text(),
      'OCI runtime exec failed: exec failed: unable to start container process: exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown\r\n',
    );
  });

  it('closes a session when its group is stopped, and refuses exec into a container not running', async () => {
    const shell = await session('/bin/sh');
    await shell.until((t) => t === '# ');
    await harness.client.containerGroups.stop(rg, 'exec-1');
    assert.deepEqual(await shell.closed, { code: 1000, reason: 'container group stopped' });
    await assert.rejects(exec('/bin/sh'), { statusCode: 400, code: 'ContainerNotRunning' });
    await harness.client.containerGroups.beginStartAndWait(rg, 'exec-1', FAST_POLL);
  });

  it('closes a session when its group is deleted', async () => {
    const name = 'exec-deleted';
    await harness.client.containerGroups.beginCreateOrUpdateAndWait(
      rg,
      name,
      containerGroup(harness.emulator.region),
      FAST_POLL,
    );
    const shell = await session('sh', name);
    shell.socket.send('sleep infinity\n');
    await harness.client.containerGroups.beginDeleteAndWait(rg, name, FAST_POLL);
    assert.deepEqual(await shell.closed, { code: 1000, reason: 'container group deleted' });
  });
});

describe('exec session bounds', { timeout: 30_000 }, () => {
  let harness: EmulatorHarness;
  const exec = () =>
    harness.client.containers.executeCommand(harness.emulator.resourceGroup, 'bounds-1', 'app', {
      command: '/bin/sh',
      terminalSize: { rows: 24, cols: 80 },
    });
  before(async () => {
    harness = await startHarness({
      addresses: 'documentation',
      sessionLimits: { idleMs: 300, maxSessions: 2 },
      rateLimits: { armWrites: { capacity: 1000, refillPerSecond: 1000 } },
    });
    await harness.client.containerGroups.beginCreateOrUpdateAndWait(
      harness.emulator.resourceGroup,
      'bounds-1',
      containerGroup(harness.emulator.region),
      FAST_POLL,
    );
  });
  after(() => harness.close());

  it('closes a session with neither input nor output', async () => {
    const reply = await exec();
    const stream = await connect(reply.webSocketUri ?? '', harness.emulator.caPem);
    stream.socket.send(reply.password ?? '');
    stream.socket.send('sleep 60\n');
    assert.deepEqual(await stream.closed, { code: 1000, reason: 'idle timeout' });
  });

  it('refuses a websocket past the number of open sessions', async () => {
    const replies = await Promise.all([exec(), exec(), exec()]);
    const open = await Promise.all(
      replies.slice(0, 2).map((r) => connect(r.webSocketUri ?? '', harness.emulator.caPem)),
    );
    await assert.rejects(
      connect(replies[2].webSocketUri ?? '', harness.emulator.caPem),
      /Unexpected server response: 503/,
    );
    for (const stream of open) stream.socket.close();
    await Promise.all(open.map((stream) => stream.closed));
  });

  it('refuses more sessions waiting for their websocket than its bound', async () => {
    const path = `${harness.groupPath(harness.emulator.resourceGroup, 'bounds-1')}/containers/app/exec`;
    const body = { command: '/bin/sh', terminalSize: { rows: 24, cols: 80 } };
    const statuses: number[] = [];
    for (let i = 0; i <= MAX_PENDING_SESSIONS; i++)
      statuses.push((await harness.raw('POST', path, { body })).status);
    assert.equal(statuses.filter((status) => status === 200).length, MAX_PENDING_SESSIONS);
    assert.equal(statuses.at(-1), 429);
  });
});

describe('attach over the websocket', { timeout: 30_000 }, () => {
  let harness: EmulatorHarness;
  let rg: string;
  before(async () => {
    harness = await startHarness({ addresses: 'documentation' });
    rg = harness.emulator.resourceGroup;
  });
  after(() => harness.close());

  const create = (name: string, command: string[], group: Partial<ContainerGroup> = {}) =>
    harness.client.containerGroups.beginCreateOrUpdateAndWait(
      rg,
      name,
      containerGroup(harness.emulator.region, { command }, group),
      FAST_POLL,
    );

  it('streams the lines the container prints after the attach, with \\r\\n, and closes when it exits', async () => {
    await create('attach-1', ['sh', '-c', 'echo early; sleep 2; echo one; sleep 300ms; echo two; exit 0'], {
      restartPolicy: 'Never',
    });
    const reply = await harness.client.containers.attach(rg, 'attach-1', 'app');
    assert.match(
      reply.webSocketUri ?? '',
      /^wss:\/\/127\.0\.0\.1:\d+\/attachstream\/sessionId\/[0-9a-f-]{36}\?api-version=1\.0$/,
    );
    const stream = await connect(reply.webSocketUri ?? '', harness.emulator.caPem, {
      authorization: reply.password ?? '',
    });
    stream.socket.send('input is ignored\n');
    assert.deepEqual(await stream.closed, { code: 1000, reason: 'container stopped' });
    assert.equal(stream.text(), 'one\r\ntwo\r\n', 'the line printed before the attach is not replayed');
  });

  it('closes when the group is deleted', async () => {
    await create('attach-2', ['sh', '-c', 'sleep infinity']);
    const reply = await harness.client.containers.attach(rg, 'attach-2', 'app');
    const stream = await connect(reply.webSocketUri ?? '', harness.emulator.caPem, {
      authorization: reply.password ?? '',
    });
    await harness.client.containerGroups.beginDeleteAndWait(rg, 'attach-2', FAST_POLL);
    assert.deepEqual(await stream.closed, { code: 1000, reason: 'container group deleted' });
  });

  it('refuses a websocket without the password in its Authorization header', async () => {
    await create('attach-3', ['sh', '-c', 'sleep infinity']);
    const reply = await harness.client.containers.attach(rg, 'attach-3', 'app');
    await assert.rejects(
      connect(reply.webSocketUri ?? '', harness.emulator.caPem, { authorization: 'wrong' }),
      /Unexpected server response: 401/,
    );
  });
});
