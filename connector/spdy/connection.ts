// A SPDY/3.1 connection over any Duplex: a socket after the `Upgrade: SPDY/3.1` 101 response, or a
// WebSocket carrying SPDY (webSocketDuplex). Symmetric: the role only decides stream and ping id parity.
//
// Flow control. SPDY/3.1 gives every stream a window (64 KiB unless SETTINGS says otherwise) and the
// connection one more (64 KiB, grown only by WINDOW_UPDATE on stream 0). The Kubernetes peers
// (github.com/moby/spdystream) implement none of it: they never send WINDOW_UPDATE or SETTINGS and ignore
// ours, relying on TCP backpressure. So:
// - Receiving: each stream gives back its window as its reader consumes (WINDOW_UPDATE per half window);
//   the connection window is given back as DATA arrives, since the stream windows already bound what
//   is buffered (a shared window would let one unread stream stall all others). A peer that overruns a
//   stream's window pauses the socket until that stream's reader catches up: memory stays bounded
//   without failing spdystream peers, which is how they expect backpressure anyway.
// - Sending: windows are always counted, and enforced unless the peer's first frame shows it does no flow
//   control: a peer that does sends SETTINGS (or WINDOW_UPDATE) first, as this implementation does;
//   spdystream never sends either, so its first frame is a SYN_STREAM or SYN_REPLY. Enforcing windows
//   against spdystream would stall every stream after 64 KiB; not enforcing them against a peer that
//   counts would overrun it. Until the peer's first frame arrives, windows are enforced. Socket
//   backpressure always applies.
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  encodeFrame,
  FrameParser,
  GoAwayStatus,
  RstStatus,
  SettingId,
  synStream,
  type DataFrame,
  type GoAwayFrame,
  type PingFrame,
  type SettingsFrame,
  type SpdyFrame,
  type SynStreamFrame,
  type WindowUpdateFrame,
} from './frames.ts';
import { HeaderCompressor, HeaderDecompressor, SpdyProtocolError, type SpdyHeaders } from './header-block.ts';
import { MAX_DATA_FRAME_PAYLOAD, SpdyStream, type StreamSession } from './stream.ts';

export interface SpdyConnectionOptions {
  /** 'server' (the side that answered the upgrade) opens even stream ids and answers odd ping ids. */
  role: 'server' | 'client';
  /** Our receive window per stream (SETTINGS INITIAL_WINDOW_SIZE): what a stream buffers for its reader. */
  initialWindowSize?: number;
  /** How many streams may be open at once; the peer's further SYN_STREAMs are refused. */
  maxConcurrentStreams?: number;
}

export interface SpdyConnectionEvents {
  /**
   * The peer opened a stream (headers in `stream.headers`). It is replied to (empty headers) as soon as the
   * listeners return, unless they call `stream.reply(headers)` or `stream.reset()`. Without a listener,
   * streams are refused.
   */
  stream: [stream: SpdyStream];
  /** The peer sent GOAWAY: no new streams; ours above lastGoodStreamId were not processed and are gone. */
  goaway: [frame: { lastGoodStreamId: number; status: number }];
  /** Once, when the connection is over: `error` is why, or undefined after close() or a clean end. */
  close: [error: Error | undefined];
}

const DEFAULT_WINDOW = 64 * 1024;
const DEFAULT_MAX_CONCURRENT_STREAMS = 100;
const MAX_WINDOW = 0x7fffffff;
const MAX_STREAM_ID = 0x7fffffff;
/** Control frames we queue for a peer that does not read (ping echoes...) before giving up on it. */
const MAX_UNSENT_BYTES = 1024 * 1024;

export class SpdyConnection extends EventEmitter<SpdyConnectionEvents> {
  private readonly socket: Duplex;
  private readonly role: 'server' | 'client';
  private readonly receiveWindow: number;
  private readonly maxConcurrentStreams: number;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly overfullStreams = new Set<SpdyStream>();
  private readonly compressor = new HeaderCompressor();
  private readonly parser = new FrameParser(new HeaderDecompressor());
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  private settingsSent = false;
  private peerFlowControl: boolean | undefined; // decided by the peer's first frame
  private peerInitialWindow = DEFAULT_WINDOW;
  private sendWindow = DEFAULT_WINDOW; // the connection's, SPDY/3.1
  private receivedUnacknowledged = 0; // DATA bytes not yet given back on the connection's window
  private goingAway = false; // GOAWAY sent or received: no new streams
  private over = false;
  private readonly session: StreamSession;

  constructor(socket: Duplex, options: SpdyConnectionOptions) {
    super();
    this.socket = socket;
    this.role = options.role;
    this.receiveWindow = options.initialWindowSize ?? DEFAULT_WINDOW;
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
    if (
      !Number.isInteger(this.receiveWindow) ||
      this.receiveWindow < 1024 ||
      this.receiveWindow > MAX_WINDOW
    ) {
      throw new RangeError(
        `initialWindowSize ${this.receiveWindow} must be an integer from 1024 to ${MAX_WINDOW}`,
      );
    }
    this.nextStreamId = this.role === 'client' ? 1 : 2;
    this.session = {
      send: (frame) => this.send(frame),
      sendable: (stream, wanted) => this.sendable(stream, wanted),
      sent: (bytes) => {
        this.sendWindow -= bytes;
      },
      overfull: (stream, over) => {
        this.setOverfull(stream, over);
      },
      ended: (stream) => {
        this.forget(stream);
      },
    };
    // Replies and window updates are small frames the peer waits for; Nagle's algorithm would hold them
    // until the previous segment is acknowledged (40 ms with delayed ACKs). Go's connections disable it too.
    if (socket instanceof Socket) socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (!this.over) this.receive(chunk);
    });
    socket.on('drain', () => {
      this.flushWrites();
    });
    socket.on('end', () => {
      this.destroy();
    });
    socket.on('close', () => {
      this.destroy();
    });
    socket.on('error', (error) => {
      this.destroy(error);
    });
  }

  /** Opens a stream (SYN_STREAM); with `fin` our side is closed at once. Throws once the connection closes. */
  openStream(headers: SpdyHeaders, options: { fin?: boolean } = {}): SpdyStream {
    if (this.over || this.goingAway) throw new Error('SPDY connection is closing: no new streams');
    const id = this.nextStreamId;
    if (id > MAX_STREAM_ID) throw new Error('SPDY connection has used all its stream ids');
    const frame = synStream(id, headers, { fin: options.fin ?? false });
    if (!this.send(frame)) throw new Error('SPDY connection closed');
    this.nextStreamId += 2;
    return this.createStream(frame, 'by-us');
  }

  /** Ends the connection: RST_STREAM for unfinished streams, GOAWAY, then the socket is ended. */
  close(): void {
    if (this.over) return;
    for (const stream of [...this.streams.values()]) stream.destroy();
    this.send({ type: 'GOAWAY', lastGoodStreamId: this.lastPeerStreamId, status: GoAwayStatus.OK });
    this.finish(undefined);
  }

  /** Tears the connection down at once, without telling the peer. */
  destroy(error?: Error): void {
    if (this.over) return;
    this.over = true;
    this.socket.destroy();
    this.dropStreams();
    this.emit('close', error);
  }

  /** Over, once what is queued on the socket is sent. */
  private finish(error: Error | undefined): void {
    if (this.over) return;
    this.over = true;
    this.socket.end(() => this.socket.destroy());
    this.dropStreams();
    this.emit('close', error);
  }

  private dropStreams(): void {
    for (const stream of [...this.streams.values()]) stream.destroy();
    this.streams.clear();
    this.overfullStreams.clear();
  }

  private receive(chunk: Buffer): void {
    try {
      for (const frame of this.parser.push(chunk)) {
        if (this.over) return; // a frame before this one ended the connection
        this.handle(frame);
      }
    } catch (error) {
      // A 'stream' listener's exception lands here too: it ends this connection, not the process.
      this.failConnection(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private failConnection(error: Error): void {
    const status =
      error instanceof SpdyProtocolError ? GoAwayStatus.PROTOCOL_ERROR : GoAwayStatus.INTERNAL_ERROR;
    this.send({ type: 'GOAWAY', lastGoodStreamId: this.lastPeerStreamId, status });
    this.finish(error);
  }

  private handle(frame: SpdyFrame): void {
    if (this.peerFlowControl === undefined) this.learnFlowControl(frame);
    switch (frame.type) {
      case 'DATA':
        this.onData(frame);
        break;
      case 'SYN_STREAM':
        this.onSynStream(frame);
        break;
      case 'SYN_REPLY':
        this.streams.get(frame.streamId)?.receiveReply(frame.headers, frame.fin);
        break;
      case 'HEADERS':
        this.streams.get(frame.streamId)?.receiveHeaders(frame.headers, frame.fin);
        break;
      case 'RST_STREAM':
        this.streams.get(frame.streamId)?.receiveReset(frame.status);
        break;
      case 'SETTINGS':
        this.onSettings(frame);
        break;
      case 'PING':
        this.onPing(frame);
        break;
      case 'GOAWAY':
        this.onGoAway(frame);
        break;
      case 'WINDOW_UPDATE':
        this.onWindowUpdate(frame);
        break;
    }
  }

  private learnFlowControl(firstFrame: SpdyFrame): void {
    this.peerFlowControl = firstFrame.type === 'SETTINGS' || firstFrame.type === 'WINDOW_UPDATE';
    if (!this.peerFlowControl) this.flushWrites();
  }

  private onData(frame: DataFrame): void {
    this.receivedUnacknowledged += frame.data.length;
    if (this.receivedUnacknowledged >= DEFAULT_WINDOW / 2) {
      this.send({ type: 'WINDOW_UPDATE', streamId: 0, delta: this.receivedUnacknowledged });
      this.receivedUnacknowledged = 0;
    }
    // DATA for a stream we no longer know (reset, refused) is dropped.
    this.streams.get(frame.streamId)?.receiveData(frame.data, frame.fin);
  }

  private onSynStream(frame: SynStreamFrame): void {
    const peerParity = this.role === 'server' ? 1 : 0;
    if (frame.streamId % 2 !== peerParity || frame.streamId <= this.lastPeerStreamId) {
      throw new SpdyProtocolError(
        `SYN_STREAM with stream id ${frame.streamId} after ${this.lastPeerStreamId}`,
      );
    }
    this.lastPeerStreamId = frame.streamId;
    const full = this.streams.size >= this.maxConcurrentStreams;
    if (this.goingAway || full || this.listenerCount('stream') === 0) {
      this.send({ type: 'RST_STREAM', streamId: frame.streamId, status: RstStatus.REFUSED_STREAM });
      return;
    }
    const stream = this.createStream(frame, 'by-peer');
    this.emit('stream', stream);
    // As Kubernetes' server: the reply follows the handler at once (Go clients wait for it, 30 s at most,
    // before opening their next stream), unless the handler replied with headers or reset the stream.
    if (!stream.destroyed) stream.reply();
  }

  private createStream(frame: SynStreamFrame, opened: 'by-us' | 'by-peer'): SpdyStream {
    const stream = new SpdyStream({
      session: this.session,
      id: frame.streamId,
      headers: frame.headers,
      opened,
      localFin: opened === 'by-us' ? frame.fin : frame.unidirectional,
      remoteFin: opened === 'by-us' ? false : frame.fin,
      receiveWindow: this.receiveWindow,
      sendWindow: this.peerInitialWindow,
    });
    this.streams.set(stream.id, stream);
    return stream;
  }

  private onSettings(frame: SettingsFrame): void {
    for (const setting of frame.settings) {
      if (setting.id !== SettingId.INITIAL_WINDOW_SIZE) continue;
      if (setting.value > MAX_WINDOW)
        throw new SpdyProtocolError(`SETTINGS initial window ${setting.value} is too large`);
      // A new initial window moves every open stream's window by the difference (SPDY/3 2.6.8).
      const change = setting.value - this.peerInitialWindow;
      this.peerInitialWindow = setting.value;
      for (const stream of this.streams.values()) stream.sendWindow += change;
    }
    this.flushWrites();
  }

  private onPing(frame: PingFrame): void {
    // Each side starts pings with its own parity (client odd, server even) and echoes only the other's,
    // so two of these connections never bounce a ping back and forth.
    const peerParity = this.role === 'server' ? 1 : 0;
    if (frame.id % 2 === peerParity) this.send(frame);
  }

  private onGoAway(frame: GoAwayFrame): void {
    this.goingAway = true;
    this.emit('goaway', { lastGoodStreamId: frame.lastGoodStreamId, status: frame.status });
    const ourParity = this.role === 'client' ? 1 : 0;
    for (const stream of [...this.streams.values()]) {
      if (stream.id % 2 === ourParity && stream.id > frame.lastGoodStreamId)
        stream.receiveReset(RstStatus.REFUSED_STREAM);
    }
    if (this.streams.size === 0) this.finish(undefined);
  }

  private onWindowUpdate(frame: WindowUpdateFrame): void {
    if (frame.streamId !== 0) {
      this.streams.get(frame.streamId)?.receiveWindowUpdate(frame.delta);
      return;
    }
    this.sendWindow = Math.min(this.sendWindow + frame.delta, MAX_WINDOW);
    this.flushWrites();
  }

  /** Writes a frame; our SETTINGS go first. False once the connection is over. */
  private send(frame: SpdyFrame): boolean {
    if (this.over) return false;
    // Not at connect time: a Go client reads the 101 response through a buffer and would lose frames that
    // arrived with it. Before our first frame, the peer has either spoken or is waiting for us.
    if (!this.settingsSent) {
      this.settingsSent = true;
      this.send({
        type: 'SETTINGS',
        settings: [
          { id: SettingId.MAX_CONCURRENT_STREAMS, value: this.maxConcurrentStreams, flags: 0 },
          { id: SettingId.INITIAL_WINDOW_SIZE, value: this.receiveWindow, flags: 0 },
        ],
      });
    }
    this.socket.write(encodeFrame(frame, this.compressor));
    if (this.socket.writableLength > MAX_UNSENT_BYTES) {
      this.destroy(new Error(`SPDY peer does not read: over ${MAX_UNSENT_BYTES} bytes unsent`));
      return false;
    }
    return true;
  }

  private sendable(stream: SpdyStream, wanted: number): number {
    if (this.over || this.socket.writableNeedDrain) return 0;
    const size = Math.min(wanted, MAX_DATA_FRAME_PAYLOAD);
    if (this.peerFlowControl === false) return size;
    return Math.max(0, Math.min(size, stream.sendWindow, this.sendWindow));
  }

  private flushWrites(): void {
    for (const stream of [...this.streams.values()]) stream.flushWrite();
  }

  private setOverfull(stream: SpdyStream, over: boolean): void {
    if (over) this.overfullStreams.add(stream);
    else this.overfullStreams.delete(stream);
    if (this.overfullStreams.size > 0) this.socket.pause();
    else if (!this.over) this.socket.resume();
  }

  private forget(stream: SpdyStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (this.overfullStreams.has(stream)) this.setOverfull(stream, false);
    if (this.goingAway && this.streams.size === 0 && !this.over) this.finish(undefined);
  }
}
