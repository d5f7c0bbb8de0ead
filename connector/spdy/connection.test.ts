import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { SpdyConnection } from './connection.ts';
import {
  encodeFrame,
  FrameParser,
  GoAwayStatus,
  RstStatus,
  SettingId,
  synStream,
  type SpdyFrame,
} from './frames.ts';
import { HeaderCompressor, HeaderDecompressor, SpdyProtocolError } from './header-block.ts';
import type { SpdyStream } from './stream.ts';

/** A hang fails the suite instead of stalling the run (not a speed assertion). */
const HANG_BOUND_MS = 20_000;

/** Waits (a bounded number of event-loop turns, no clock) until `condition` holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 2000; turn += 1) {
    if (condition()) return;
    await tick();
  }
  assert.fail(`never happened: ${what}`);
}

/** The far end of a connection, speaking raw frames, to see exactly what the connection sends. */
class RawPeer {
  readonly frames: SpdyFrame[] = [];
  readonly socket: Duplex;
  private readonly parser = new FrameParser(new HeaderDecompressor());
  private readonly compressor = new HeaderCompressor();

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.frames.push(...this.parser.push(chunk)));
  }

  send(...frames: SpdyFrame[]): void {
    for (const frame of frames) this.socket.write(encodeFrame(frame, this.compressor));
  }

  of<T extends SpdyFrame['type']>(type: T): Extract<SpdyFrame, { type: T }>[] {
    return this.frames.filter((frame): frame is Extract<SpdyFrame, { type: T }> => frame.type === type);
  }

  dataOn(streamId: number): Buffer {
    return Buffer.concat(
      this.of('DATA').flatMap((frame) => (frame.streamId === streamId ? [frame.data] : [])),
    );
  }
}

function withRawPeer(
  role: 'server' | 'client',
  options: { initialWindowSize?: number; maxConcurrentStreams?: number } = {},
) {
  const [ours, theirs] = duplexPair();
  const connection = new SpdyConnection(ours, { role, ...options });
  const closed = once(connection, 'close') as Promise<[Error | undefined]>;
  return { connection, peer: new RawPeer(theirs), ours, closed };
}

function data(streamId: number, bytes: Buffer | string, fin = false): SpdyFrame {
  return { type: 'DATA', streamId, fin, data: Buffer.from(bytes) };
}

/** Two connections back to back, as the API server (client) and the node (server). */
function connectedPair(sockets: [Duplex, Duplex] = duplexPair()) {
  const client = new SpdyConnection(sockets[0], { role: 'client' });
  const server = new SpdyConnection(sockets[1], { role: 'server' });
  return { client, server };
}

/** Echoes every stream the peer opens: replies, then writes back what it reads. */
function echo(connection: SpdyConnection): void {
  connection.on('stream', (stream) => {
    stream.reply({ echoed: stream.headers.streamtype ?? '' });
    stream.pipe(stream);
  });
}

async function tcpPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect(address.port, '127.0.0.1');
  const [serverSide] = await accepted;
  server.close();
  return [client, serverSide];
}

describe('SpdyConnection between two peers', { timeout: HANG_BOUND_MS }, () => {
  it('opens streams with headers, replies, and carries data both ways until FIN', async () => {
    const { client, server } = connectedPair();
    const opened: SpdyStream[] = [];
    server.on('stream', (stream) => {
      opened.push(stream);
      stream.reply();
      const stdin = opened.find((s) => s.headers.streamtype === 'stdin');
      if (stream.headers.streamtype === 'stdout' && stdin) stdin.pipe(stream);
    });
    const error = client.openStream({ streamtype: 'error' });
    const stdin = client.openStream({ StreamType: 'stdin', port: '80' });
    const stdout = client.openStream({ streamtype: 'stdout' }, { fin: true });
    await until(() => opened.length === 3, 'three streams at the server');
    assert.deepEqual(
      opened.map((stream) => [stream.id, { ...stream.headers }]),
      [
        [1, { streamtype: 'error' }],
        [3, { streamtype: 'stdin', port: '80' }],
        [5, { streamtype: 'stdout' }],
      ],
    );
    assert.deepEqual([error.id, stdin.id, stdout.id], [1, 3, 5]);
    stdin.end('hello from kubectl');
    assert.equal((await buffer(stdout)).toString(), 'hello from kubectl');
    assert.deepEqual({ ...error.replyHeaders }, {});
    const serverOpened = server.openStream({ streamtype: 'server-side' });
    assert.equal(serverOpened.id, 2);
    client.close();
    server.close();
  });

  it('echoes 1 MiB each way over a TCP socket pair, within the flow-control windows', async () => {
    const { client, server } = connectedPair(await tcpPair());
    echo(server);
    const payload = Buffer.alloc(1024 * 1024);
    for (let index = 0; index < payload.length; index += 1) payload[index] = (index * 7) % 251;
    const stream = client.openStream({ streamtype: 'data' });
    stream.end(payload);
    const [echoed] = await Promise.all([buffer(stream), once(stream, 'reply')]);
    assert.ok(echoed.equals(payload));
    const closed = once(server, 'close');
    client.close();
    await closed;
  });

  it('stops a writer at the window while its reader does not read, and resumes when it reads', async () => {
    const { client, server } = connectedPair();
    const streams: SpdyStream[] = [];
    server.on('stream', (stream) => streams.push(stream));
    const writer = client.openStream({ streamtype: 'stdin' });
    writer.write(Buffer.alloc(1024 * 1024));
    await until(() => streams.length === 1, 'the stream at the server');
    const reader = streams[0];
    assert.ok(reader);
    await until(() => reader.readableLength === 64 * 1024, 'one window buffered');
    for (let turn = 0; turn < 50; turn += 1) await tick();
    assert.equal(reader.readableLength, 64 * 1024, 'no more than the window while nothing reads');
    writer.end();
    assert.equal((await buffer(reader)).length, 1024 * 1024);
    client.close();
  });
});

describe('SpdyConnection flow control', { timeout: HANG_BOUND_MS }, () => {
  it('sends nothing beyond a window of 0 and resumes on WINDOW_UPDATE', async () => {
    const { connection, peer } = withRawPeer('server');
    const stream = await new Promise<SpdyStream>((resolve) => {
      connection.on('stream', resolve);
      peer.send(
        { type: 'SETTINGS', settings: [{ id: SettingId.INITIAL_WINDOW_SIZE, value: 0, flags: 0 }] },
        synStream(1, { streamtype: 'stdout' }),
      );
    });
    let written = false;
    stream.write('0123456789abcdef', () => (written = true));
    await until(() => peer.of('SYN_REPLY').length === 1, 'the reply');
    for (let turn = 0; turn < 20; turn += 1) await tick();
    assert.equal(peer.dataOn(1).length, 0);
    assert.equal(written, false, 'the write waits for the window');
    peer.send({ type: 'WINDOW_UPDATE', streamId: 1, delta: 10 });
    await until(() => peer.dataOn(1).length === 10, 'ten bytes');
    assert.equal(written, false);
    peer.send({ type: 'WINDOW_UPDATE', streamId: 1, delta: 100 });
    await until(() => written, 'the write completes');
    assert.equal(peer.dataOn(1).toString(), '0123456789abcdef');
  });

  it("respects the connection's window (SPDY/3.1) once the peer does flow control", async () => {
    const { connection, peer } = withRawPeer('client');
    const stream = connection.openStream({ streamtype: 'data' });
    stream.write(Buffer.alloc(100 * 1024));
    peer.send({
      type: 'SETTINGS',
      settings: [{ id: SettingId.INITIAL_WINDOW_SIZE, value: 1024 * 1024, flags: 0 }],
    });
    await until(() => peer.dataOn(1).length === 64 * 1024, 'a connection window of data');
    for (let turn = 0; turn < 20; turn += 1) await tick();
    assert.equal(peer.dataOn(1).length, 64 * 1024);
    peer.send({ type: 'WINDOW_UPDATE', streamId: 0, delta: 36 * 1024 });
    await until(() => peer.dataOn(1).length === 100 * 1024, 'the rest');
  });

  it('holds to the default window until the first frame shows a peer without flow control, as spdystream', async () => {
    const { connection, peer } = withRawPeer('client');
    const stream = connection.openStream({ streamtype: 'data' });
    stream.end(Buffer.alloc(300 * 1024));
    await until(() => peer.dataOn(1).length === 64 * 1024, 'a window of data');
    for (let turn = 0; turn < 20; turn += 1) await tick();
    assert.equal(peer.dataOn(1).length, 64 * 1024);
    peer.send({ type: 'SYN_REPLY', streamId: 1, fin: false, headers: {} });
    await until(() => peer.of('DATA').some((frame) => frame.fin), 'the FIN');
    assert.equal(peer.dataOn(1).length, 300 * 1024);
  });

  it('gives the window back as the reader reads, and the connection window as DATA arrives', async () => {
    const { connection, peer } = withRawPeer('server');
    const streams: SpdyStream[] = [];
    connection.on('stream', (stream) => streams.push(stream));
    peer.send(synStream(1, { streamtype: 'stdin' }), data(1, Buffer.alloc(64 * 1024)));
    await until(() => streams[0]?.readableLength === 64 * 1024, 'a full window buffered');
    assert.deepEqual(
      peer.of('WINDOW_UPDATE').map((frame) => [frame.streamId, frame.delta]),
      [[0, 64 * 1024]],
      'only the connection window so far',
    );
    streams[0]?.resume();
    await until(
      () => peer.of('WINDOW_UPDATE').some((frame) => frame.streamId === 1),
      'a stream window update',
    );
    assert.deepEqual(
      peer
        .of('WINDOW_UPDATE')
        .filter((frame) => frame.streamId === 1)
        .map((frame) => frame.delta),
      [64 * 1024],
    );
  });

  it('pauses the socket while a peer overruns an unread stream, and resumes once it is read', async () => {
    const { connection, peer, ours } = withRawPeer('server');
    const streams: SpdyStream[] = [];
    connection.on('stream', (stream) => streams.push(stream));
    peer.send(synStream(1, { streamtype: 'stdin' }));
    for (let index = 0; index < 20; index += 1) peer.send(data(1, Buffer.alloc(16 * 1024)));
    await until(() => ours.isPaused(), 'the socket paused');
    const stream = streams[0];
    assert.ok(stream);
    assert.ok(stream.readableLength <= 64 * 1024 + 64 * 1024, `buffered ${stream.readableLength}`);
    peer.send(data(1, '', true));
    assert.equal((await buffer(stream)).length, 20 * 16 * 1024);
    assert.equal(ours.isPaused(), false);
  });
});

describe('SpdyConnection control frames', { timeout: HANG_BOUND_MS }, () => {
  const pingCases: ['server' | 'client', number, boolean][] = [
    ['server', 1, true],
    ['server', 2, false],
    ['client', 2, true],
    ['client', 1, false],
  ];
  for (const [role, id, echoed] of pingCases) {
    it(`as ${role}, ${echoed ? 'echoes' : 'does not echo'} PING ${id}`, async () => {
      const { peer } = withRawPeer(role);
      peer.send({ type: 'PING', id }, { type: 'PING', id: 1001 + (role === 'server' ? 0 : 1) });
      await until(() => peer.of('PING').length > 0, 'an echo of the second ping');
      for (let turn = 0; turn < 10; turn += 1) await tick();
      assert.deepEqual(
        peer.of('PING').map((frame) => frame.id),
        echoed ? [id, 1001 + (role === 'server' ? 0 : 1)] : [1001 + (role === 'server' ? 0 : 1)],
      );
    });
  }

  it('sends its SETTINGS before its first frame, never on its own at connect', async () => {
    const { connection, peer } = withRawPeer('server');
    for (let turn = 0; turn < 10; turn += 1) await tick();
    assert.equal(peer.frames.length, 0, 'nothing a Go client could lose behind the 101 response');
    connection.on('stream', (stream) => {
      stream.write('x');
    });
    peer.send(synStream(1, {}));
    await until(() => peer.frames.length === 3, 'three frames');
    assert.deepEqual(
      peer.frames.map((frame) => frame.type),
      ['SETTINGS', 'SYN_REPLY', 'DATA'],
    );
    assert.deepEqual(peer.of('SETTINGS')[0]?.settings, [
      { id: SettingId.MAX_CONCURRENT_STREAMS, value: 100, flags: 0 },
      { id: SettingId.INITIAL_WINDOW_SIZE, value: 64 * 1024, flags: 0 },
    ]);
  });

  it('replies to each new stream once its listener returns, unless the listener replied or reset it', async () => {
    const { connection, peer } = withRawPeer('server');
    connection.on('stream', (stream) => {
      if (stream.headers.streamtype === 'custom') stream.reply({ chosen: 'yes' });
      if (stream.headers.streamtype === 'unwanted') stream.reset(RstStatus.REFUSED_STREAM);
    });
    peer.send(
      synStream(1, { streamtype: 'plain' }),
      synStream(3, { streamtype: 'custom' }),
      synStream(5, { streamtype: 'unwanted' }),
    );
    await until(() => peer.of('RST_STREAM').length === 1, 'the reset');
    assert.deepEqual(
      peer.of('SYN_REPLY').map((frame) => [frame.streamId, { ...frame.headers }]),
      [
        [1, {}],
        [3, { chosen: 'yes' }],
      ],
    );
    assert.deepEqual(peer.of('RST_STREAM')[0], {
      type: 'RST_STREAM',
      streamId: 5,
      status: RstStatus.REFUSED_STREAM,
    });
  });

  it('destroys a stream on RST_STREAM without an error, and sends RST_STREAM on reset()', async () => {
    const { connection, peer } = withRawPeer('server');
    const streams: SpdyStream[] = [];
    connection.on('stream', (stream) => streams.push(stream));
    peer.send(synStream(1, {}), synStream(3, {}));
    await until(() => streams.length === 2, 'two streams');
    const [first, second] = streams;
    assert.ok(first && second);
    const errors: unknown[] = [];
    first.on('error', (error) => errors.push(error));
    const firstClosed = once(first, 'close');
    peer.send({ type: 'RST_STREAM', streamId: 1, status: RstStatus.CANCEL });
    await firstClosed;
    assert.deepEqual([first.destroyed, first.resetStatus, errors], [true, RstStatus.CANCEL, []]);
    second.reset(RstStatus.INTERNAL_ERROR);
    await until(() => peer.of('RST_STREAM').length === 1, 'our reset');
    assert.deepEqual(peer.of('RST_STREAM')[0], {
      type: 'RST_STREAM',
      streamId: 3,
      status: RstStatus.INTERNAL_ERROR,
    });
  });

  it('cancels a stream destroyed before both sides finished', async () => {
    const { connection, peer } = withRawPeer('client');
    const stream = connection.openStream({});
    stream.destroy();
    await until(() => peer.of('RST_STREAM').length === 1, 'the reset');
    assert.deepEqual(peer.of('RST_STREAM')[0], { type: 'RST_STREAM', streamId: 1, status: RstStatus.CANCEL });
  });

  it('ends FIN and UNIDIRECTIONAL streams from the start, sending no FIN of its own for the latter', async () => {
    const { connection, peer } = withRawPeer('server');
    const streams: SpdyStream[] = [];
    connection.on('stream', (stream) => streams.push(stream));
    peer.send(
      synStream(1, {}, { fin: true }),
      synStream(3, {}, { unidirectional: true }),
      data(3, 'abc', true),
    );
    await until(() => streams.length === 2, 'two streams');
    const [finished, unidirectional] = streams;
    assert.ok(finished && unidirectional);
    assert.equal((await buffer(finished)).length, 0);
    assert.equal((await buffer(unidirectional)).toString(), 'abc');
    assert.equal(unidirectional.writableEnded, true);
    finished.end();
    await until(() => peer.of('DATA').length === 1, 'our FIN on stream 1');
    assert.deepEqual(
      peer.of('DATA').map((frame) => [frame.streamId, frame.fin]),
      [[1, true]],
    );
  });

  it('on GOAWAY, drops our streams the peer did not take, refuses new ones, and closes when the rest end', async () => {
    const { connection, peer, closed } = withRawPeer('client');
    const kept = connection.openStream({});
    const dropped = connection.openStream({});
    const goaways: unknown[] = [];
    connection.on('goaway', (frame) => goaways.push(frame));
    peer.send({ type: 'GOAWAY', lastGoodStreamId: 1, status: GoAwayStatus.OK });
    await once(dropped, 'close');
    assert.deepEqual(
      [dropped.resetStatus, kept.destroyed, goaways],
      [RstStatus.REFUSED_STREAM, false, [{ lastGoodStreamId: 1, status: 0 }]],
    );
    assert.throws(() => connection.openStream({}), /closing/);
    kept.end();
    peer.send(data(1, 'bye', true));
    assert.equal((await buffer(kept)).toString(), 'bye');
    assert.deepEqual(await closed, [undefined]);
  });

  it('close() resets unfinished streams, sends GOAWAY and ends the socket', async () => {
    const { connection, peer, closed } = withRawPeer('server');
    let opened = 0;
    connection.on('stream', () => (opened += 1));
    peer.send(synStream(1, {}), synStream(3, {}));
    await until(() => opened === 2, 'two streams');
    connection.close();
    await once(peer.socket, 'end');
    assert.deepEqual(
      peer.frames.map((frame) => frame.type),
      ['SETTINGS', 'SYN_REPLY', 'SYN_REPLY', 'RST_STREAM', 'RST_STREAM', 'GOAWAY'],
    );
    assert.deepEqual(peer.of('GOAWAY')[0], { type: 'GOAWAY', lastGoodStreamId: 3, status: GoAwayStatus.OK });
    assert.deepEqual(await closed, [undefined]);
  });

  it('refuses streams beyond maxConcurrentStreams, and all streams when nobody listens', async () => {
    const limited = withRawPeer('server', { maxConcurrentStreams: 1 });
    limited.connection.on('stream', () => undefined);
    limited.peer.send(synStream(1, {}), synStream(3, {}));
    await until(() => limited.peer.of('RST_STREAM').length === 1, 'a refusal');
    assert.deepEqual(limited.peer.of('RST_STREAM')[0], {
      type: 'RST_STREAM',
      streamId: 3,
      status: RstStatus.REFUSED_STREAM,
    });
    const unheard = withRawPeer('server');
    unheard.peer.send(synStream(1, {}));
    await until(() => unheard.peer.of('RST_STREAM').length === 1, 'a refusal');
  });
});

describe('SpdyConnection on bad input', { timeout: HANG_BOUND_MS }, () => {
  const cases: [string, (peer: RawPeer) => void, RegExp][] = [
    [
      'a control frame of another version',
      (peer) => {
        peer.socket.write(Buffer.from('ffff000100000000', 'hex'));
      },
      /unsupported SPDY version/,
    ],
    [
      'a stream id of the wrong parity',
      (peer) => {
        peer.send(synStream(2, {}));
      },
      /stream id 2/,
    ],
    [
      'a stream id going backwards',
      (peer) => {
        peer.send(synStream(5, {}), synStream(3, {}));
      },
      /stream id 3 after 5/,
    ],
    [
      'an oversized control frame',
      (peer) => {
        peer.socket.write(Buffer.from('8003000100ffffff', 'hex'));
      },
      /exceeds/,
    ],
    [
      'a window size over 2^31 - 1',
      (peer) => {
        peer.send({ type: 'SETTINGS', settings: [{ id: 7, value: 2 ** 31, flags: 0 }] });
      },
      /too large/,
    ],
  ];
  for (const [name, send, message] of cases) {
    it(`answers ${name} with GOAWAY PROTOCOL_ERROR and closes, streams destroyed without errors`, async () => {
      const { connection, peer, closed } = withRawPeer('server');
      const streams: SpdyStream[] = [];
      connection.on('stream', (stream) => streams.push(stream));
      peer.send(synStream(1, {}));
      await until(() => streams.length === 1, 'a stream');
      const errors: unknown[] = [];
      streams[0]?.on('error', (error) => errors.push(error));
      send(peer);
      const [error] = await closed;
      assert.ok(error instanceof SpdyProtocolError && message.test(error.message), String(error));
      await until(() => peer.of('GOAWAY').length === 1, 'the GOAWAY');
      assert.equal(peer.of('GOAWAY')[0]?.status, GoAwayStatus.PROTOCOL_ERROR);
      assert.deepEqual([streams[0]?.destroyed, errors], [true, []]);
    });
  }

  it('closes with the exception a stream listener throws, telling the peer INTERNAL_ERROR', async () => {
    const { connection, peer, closed } = withRawPeer('server');
    connection.on('stream', () => {
      throw new Error('handler bug');
    });
    peer.send(synStream(1, {}));
    const [error] = await closed;
    assert.equal(error?.message, 'handler bug');
    await until(() => peer.of('GOAWAY').length === 1, 'the GOAWAY');
    assert.equal(peer.of('GOAWAY')[0]?.status, GoAwayStatus.INTERNAL_ERROR);
  });

  it('gives up on a peer that sends pings but never reads the answers', async () => {
    const [ours, theirs] = duplexPair();
    const connection = new SpdyConnection(ours, { role: 'server' });
    const closed = once(connection, 'close') as Promise<[Error | undefined]>;
    // 1.2 MB of pings whose 12-byte echoes pile up unread: over the 1 MiB the connection allows.
    const ping = encodeFrame({ type: 'PING', id: 1 }, new HeaderCompressor());
    theirs.write(Buffer.concat(Array.from({ length: 100_000 }, () => ping)));
    const [error] = await closed;
    assert.match(String(error), /does not read/);
  });

  it('closes with the socket error, destroying streams quietly', async () => {
    const { connection, peer, ours, closed } = withRawPeer('server');
    const streams: SpdyStream[] = [];
    connection.on('stream', (stream) => streams.push(stream));
    peer.send(synStream(1, {}));
    await until(() => streams.length === 1, 'a stream');
    ours.destroy(new Error('connection reset'));
    const [error] = await closed;
    assert.equal(error?.message, 'connection reset');
    assert.equal(streams[0]?.destroyed, true);
  });
});
