// kubectl exec's path: the exec API hands out a websocket URI and password; the websocket checks the
// password (first message), then runs the built-in commands against the container's env and volumes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { containerGroup, FAST_POLL, startHarness, type EmulatorHarness } from './testing.ts';

interface Session {
  socket: WebSocket;
  /** Resolves with the next output frame. */
  next(): Promise<string>;
  closed: Promise<{ code: number; reason: string }>;
}

async function open(uri: string, caPem: string): Promise<Session> {
  const socket = new WebSocket(uri, { ca: caPem });
  const frames: string[] = [];
  const waiters: ((frame: string) => void)[] = [];
  socket.on('message', (data: Buffer) => {
    const waiter = waiters.shift();
    if (waiter) waiter(data.toString('utf8'));
    else frames.push(data.toString('utf8'));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const next = (): Promise<string> => {
    const frame = frames.shift();
    return frame !== undefined ? Promise.resolve(frame) : new Promise((resolve) => waiters.push(resolve));
  };
  return { socket, next, closed };
}

describe('exec over the websocket', () => {
  let harness: EmulatorHarness;
  let rg: string;
  before(async () => {
    harness = await startHarness();
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

  const exec = (command: string) =>
    harness.client.containers.executeCommand(rg, 'exec-1', 'app', {
      command,
      terminalSize: { rows: 24, cols: 80 },
    });

  it("returns a wss URI in Azure's shape and a password", async () => {
    const reply = await exec('/bin/sh');
    assert.match(
      reply.webSocketUri ?? '',
      /^wss:\/\/127\.0\.0\.1:\d+\/execstream\/sessionId\/[0-9a-f-]{36}\?api-version=1\.0&rows=24&cols=80$/,
    );
    assert.ok((reply.password ?? '').length >= 16);
  });

  it('runs an interactive shell: echo, env, ls and cat of mounted volumes, exit', async () => {
    const reply = await exec('/bin/sh');
    const session = await open(reply.webSocketUri ?? '', harness.emulator.caPem);
    session.socket.send(reply.password ?? '');
    session.socket.send(Buffer.from('echo $GREETING world\n'));
    assert.equal(await session.next(), 'hello world\n');
    session.socket.send('env\n');
    const env = await session.next();
    assert.match(env, /^GREETING=hello$/m);
    assert.match(env, /^API_KEY=s3cr3t$/m, 'inside the container a secure value is a plain variable');
    session.socket.send('ls /etc/app\n');
    assert.equal(await session.next(), 'app.conf\n');
    session.socket.send('cat /etc/app/app.conf\n');
    assert.equal(await session.next(), 'mode=burst\n');
    session.socket.send('ls /\n');
    assert.equal(await session.next(), 'etc\nscratch\n');
    session.socket.send('cat /nope\n');
    assert.equal(await session.next(), 'cat: /nope: No such file or directory\n');
    session.socket.send('exit 0\n');
    assert.deepEqual(await session.closed, { code: 1000, reason: 'exit 0' });
  });

  it('runs a one-shot command and closes', async () => {
    const reply = await exec('echo one-shot');
    const session = await open(reply.webSocketUri ?? '', harness.emulator.caPem);
    session.socket.send(reply.password ?? '');
    assert.equal(await session.next(), 'one-shot\n');
    assert.equal((await session.closed).code, 1000);
  });

  it('closes the session on a wrong password, and a session URI works once', async () => {
    const reply = await exec('/bin/sh');
    const session = await open(reply.webSocketUri ?? '', harness.emulator.caPem);
    session.socket.send('not-the-password');
    assert.deepEqual(await session.closed, { code: 1008, reason: 'invalid password' });
    await assert.rejects(
      open(reply.webSocketUri ?? '', harness.emulator.caPem),
      /Unexpected server response: 404/,
    );
  });

  it('refuses exec into a container that is not running', async () => {
    await harness.client.containerGroups.stop(rg, 'exec-1');
    await assert.rejects(exec('/bin/sh'), { statusCode: 400, code: 'ContainerNotRunning' });
    await harness.client.containerGroups.beginStartAndWait(rg, 'exec-1', FAST_POLL);
  });
});
