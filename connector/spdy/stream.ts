// One SPDY stream as a Node Duplex: the readable side is the peer's DATA, the writable side ours.
import { Duplex } from 'node:stream';
import { RstStatus, type SpdyFrame } from './frames.ts';
import type { SpdyHeaders } from './header-block.ts';

/** What a stream needs from its connection (implemented by SpdyConnection). */
export interface StreamSession {
  /** Sends a frame now; false once the connection is gone. */
  send(frame: SpdyFrame): boolean;
  /** How many of `wanted` bytes may go out now: 0 while a window is closed or the socket needs draining. */
  sendable(stream: SpdyStream, wanted: number): number;
  /** Counts DATA sent against the connection's window. */
  sent(bytes: number): void;
  /** The stream's readable buffer is over its window (true) or back within it (false). */
  overfull(stream: SpdyStream, over: boolean): void;
  /** Both directions are finished or the stream was reset or destroyed. */
  ended(stream: SpdyStream): void;
}

export interface SpdyStreamInit {
  session: StreamSession;
  id: number;
  /** The SYN_STREAM's headers. */
  headers: SpdyHeaders;
  /** True for a stream the peer opened: we owe it a SYN_REPLY before our first DATA. */
  opened: 'by-peer' | 'by-us';
  /** Our side is already closed (we sent FIN on SYN_STREAM, or the peer's was UNIDIRECTIONAL). */
  localFin: boolean;
  /** The peer's side is already closed (FIN on its SYN_STREAM). */
  remoteFin: boolean;
  /** Our receive window: the most the peer may have in flight and unread on this stream. */
  receiveWindow: number;
  /** The peer's window for this stream. */
  sendWindow: number;
}

/** The most one DATA frame we send carries, so that streams interleave on the connection. */
export const MAX_DATA_FRAME_PAYLOAD = 16 * 1024;

/**
 * A SPDY stream. Reading gives the peer's DATA and ends on its FIN; writing sends DATA, `end()` sends FIN.
 * A stream the peer opened is answered with SYN_REPLY: by `reply(headers)` in the connection's 'stream'
 * listener, or with empty headers right after it (before any DATA of ours: spdystream drops DATA on a
 * stream it has no reply for).
 *
 * Peer behaviour never emits 'error': a RST_STREAM from the peer, or the connection ending, destroys the
 * stream, so 'close' comes without 'end' (`pipeline` reports a premature close); `resetStatus` then holds
 * the RST_STREAM status, if there was one. Events beyond Duplex's: 'reply' (SpdyHeaders) when the peer
 * answers a stream we opened, 'headers' (SpdyHeaders) for a HEADERS frame.
 *
 * Read in bytes (no setEncoding): the window the peer gets back follows the bytes read.
 */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  /** The RST_STREAM status that ended the stream, sent or received. */
  resetStatus: number | undefined;
  /** The peer's SYN_REPLY headers, on a stream we opened. */
  replyHeaders: SpdyHeaders | undefined;

  /** @internal The peer's window for this stream; negative after the peer shrinks it. */
  sendWindow: number;
  private readonly session: StreamSession;
  private readonly receiveWindow: number;
  private replied: boolean;
  private localFin: boolean;
  private remoteFin: boolean;
  private received = 0; // DATA bytes received
  private acknowledged = 0; // of those, bytes read and given back to the peer by WINDOW_UPDATE
  private pendingWrite:
    { chunk: Buffer; offset: number; callback: (error?: Error | null) => void } | undefined;
  private isOverfull = false;

  constructor(init: SpdyStreamInit) {
    super({ readableHighWaterMark: init.receiveWindow, allowHalfOpen: true });
    this.session = init.session;
    this.id = init.id;
    this.headers = init.headers;
    this.replied = init.opened === 'by-us';
    this.localFin = init.localFin;
    this.remoteFin = init.remoteFin;
    this.receiveWindow = init.receiveWindow;
    this.sendWindow = init.sendWindow;
    if (init.localFin) this.end();
    if (init.remoteFin) this.push(null);
  }

  /** Sends SYN_REPLY on a stream the peer opened (once; later calls do nothing). */
  reply(headers: SpdyHeaders = {}): void {
    if (this.replied) return;
    this.replied = true;
    this.session.send({ type: 'SYN_REPLY', streamId: this.id, fin: false, headers });
  }

  /** Sends RST_STREAM and destroys the stream. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.destroyed) return;
    this.resetStatus = status;
    this.session.send({ type: 'RST_STREAM', streamId: this.id, status });
    this.destroy();
  }

  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    this.noteRead();
    return chunk;
  }

  override _read(): void {
    // Data is pushed as it arrives; reading is accounted in read() and noteRead().
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.reply();
    this.pendingWrite = { chunk, offset: 0, callback };
    this.flushWrite();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.localFin) {
      this.reply();
      this.localFin = true;
      this.session.send({ type: 'DATA', streamId: this.id, fin: true, data: Buffer.alloc(0) });
      this.endIfClosed();
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.isClosed() && this.resetStatus === undefined) {
      this.resetStatus = RstStatus.CANCEL;
      this.session.send({ type: 'RST_STREAM', streamId: this.id, status: RstStatus.CANCEL });
    }
    this.pendingWrite = undefined;
    this.session.ended(this);
    callback(error);
  }

  /** @internal Sends as much of the pending write as the windows and the socket allow. */
  flushWrite(): void {
    const pending = this.pendingWrite;
    if (!pending || this.destroyed) return;
    while (pending.offset < pending.chunk.length) {
      const size = this.session.sendable(this, pending.chunk.length - pending.offset);
      if (size <= 0) return; // the connection calls again when a window opens or the socket drains
      const data = pending.chunk.subarray(pending.offset, pending.offset + size);
      if (!this.session.send({ type: 'DATA', streamId: this.id, fin: false, data })) return;
      pending.offset += size;
      this.sendWindow -= size;
      this.session.sent(size);
    }
    this.pendingWrite = undefined;
    pending.callback();
  }

  /** @internal */
  receiveData(data: Buffer, fin: boolean): void {
    if (this.remoteFin) return; // DATA after FIN: dropped
    if (data.length > 0) {
      this.received += data.length;
      this.push(data);
      this.noteRead();
    }
    if (fin) this.receiveFin();
  }

  /** @internal */
  receiveReply(headers: SpdyHeaders, fin: boolean): void {
    if (this.replyHeaders) return;
    this.replyHeaders = headers;
    this.emit('reply', headers);
    if (fin) this.receiveFin();
  }

  /** @internal */
  receiveHeaders(headers: SpdyHeaders, fin: boolean): void {
    this.emit('headers', headers);
    if (fin) this.receiveFin();
  }

  /** @internal */
  receiveReset(status: number): void {
    this.resetStatus = status;
    this.destroy();
  }

  /** @internal The peer gave back `delta` bytes of this stream's window. */
  receiveWindowUpdate(delta: number): void {
    this.sendWindow = Math.min(this.sendWindow + delta, 0x7fffffff);
    this.flushWrite();
  }

  private receiveFin(): void {
    if (this.remoteFin) return;
    this.remoteFin = true;
    this.push(null);
    this.endIfClosed();
  }

  // Called after every push and read: bytes that left the readable buffer were read (directly by a
  // flowing reader, or through read()). Half a window read -> WINDOW_UPDATE, so a reader that keeps up
  // never stalls the peer; a buffer over the window (a peer that ignores flow control, as spdystream
  // does) pauses the connection's socket until the reader catches up.
  private noteRead(): void {
    const read = this.received - this.readableLength;
    const unacknowledged = read - this.acknowledged;
    if (unacknowledged >= this.receiveWindow / 2 && !this.remoteFin && !this.destroyed) {
      this.acknowledged = read;
      this.session.send({ type: 'WINDOW_UPDATE', streamId: this.id, delta: unacknowledged });
    }
    const over = this.readableLength > this.receiveWindow;
    if (over !== this.isOverfull) {
      this.isOverfull = over;
      this.session.overfull(this, over);
    }
  }

  private endIfClosed(): void {
    if (this.isClosed()) this.session.ended(this);
  }

  private isClosed(): boolean {
    return this.localFin && this.remoteFin;
  }
}
