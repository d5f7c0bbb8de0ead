import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { CommandOptions, CommandStreams, TerminalSize } from './command-streams.ts';
import { chooseChannelProtocol, webSocketCommandStreams } from './websocket-channels.ts';

/** A loopback WebSocket server that hands each accepted socket to webSocketCommandStreams. */
async function serve(options: CommandOptions): Promise<{ url: string; accepted: Promise<CommandStreams> }> {
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    handleProtocols: (offered) => chooseChannelProtocol(offered) ?? false,
  });
  after(() => {
    wss.close();
    http.close();
  });
  const accepted = new Promise<CommandStreams>((resolve) => {
    wss.on('connection', (socket) => {
      resolve(webSocketCommandStreams(socket, socket.protocol, options));
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`, accepted };
}

/** Collects every message the client receives until the server closes. */
function messages(client: WebSocket): Promise<Buffer[]> {
  const received: Buffer[] = [];
  client.on('message', (data: Buffer) => received.push(Buffer.from(data)));
  return new Promise((resolve) =>
    client.once('close', () => {
      resolve(received);
    }),
  );
}

describe('chooseChannelProtocol', () => {
  it('takes the first offered protocol it speaks', () => {
    assert.equal(
      chooseChannelProtocol(['v6.channel.k8s.io', 'v5.channel.k8s.io', 'v4.channel.k8s.io']),
      'v5.channel.k8s.io',
    );
    assert.equal(chooseChannelProtocol(['SPDY/3.1+portforward.k8s.io']), undefined);
  });
});

describe('webSocketCommandStreams (v5.channel.k8s.io)', () => {
  it('announces itself, carries stdin until the close signal, decodes resizes and ends with output then status', async () => {
    const server = await serve({ stdin: true, stdout: true, stderr: false, tty: true });
    const client = new WebSocket(server.url, ['v5.channel.k8s.io']);
    const received = messages(client);
    await once(client, 'open');
    const streams = await server.accepted;
    const sizes: TerminalSize[] = [];
    streams.onResize((size) => sizes.push(size));
    const input: Buffer[] = [];
    streams.stdin?.on('data', (chunk: Buffer) => input.push(chunk));
    const stdinEnded = once(streams.stdin ?? client, 'end');
    client.send(Buffer.concat([Buffer.from([0]), Buffer.from('typed')]));
    client.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":100,"Height":30}')]));
    client.send(Buffer.from([255, 0]));
    await stdinEnded;
    assert.equal(Buffer.concat(input).toString(), 'typed');
    assert.deepEqual(sizes, [{ width: 100, height: 30 }]);
    streams.stdout?.write('out');
    streams.finish({ kind: 'exit', code: 2 });
    const frames = await received;
    assert.deepEqual(frames[0], Buffer.from([1]), 'an empty stdout frame first');
    assert.deepEqual(frames[1], Buffer.concat([Buffer.from([1]), Buffer.from('out')]));
    const status = frames[2];
    assert.ok(status);
    assert.equal(status[0], 3);
    assert.deepEqual(JSON.parse(status.subarray(1).toString()), {
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 2',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '2' }] },
    });
    assert.equal(frames.length, 3);
  });

  it('speaks the base64 variant with ASCII channel digits', async () => {
    const server = await serve({ stdin: false, stdout: true, stderr: true, tty: false });
    const client = new WebSocket(server.url, ['base64.channel.k8s.io']);
    const received = messages(client);
    await once(client, 'open');
    const streams = await server.accepted;
    streams.stderr?.write('err');
    streams.finish({ kind: 'success' });
    const frames = (await received).map((frame) => frame.toString());
    assert.deepEqual(frames, ['1', `2${Buffer.from('err').toString('base64')}`]);
  });
});
