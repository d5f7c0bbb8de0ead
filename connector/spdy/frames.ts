// SPDY/3.1 frames: a pure codec (no I/O). Layout per the SPDY/3 draft, as github.com/moby/spdystream/spdy
// reads and writes it. Every frame starts with 8 bytes:
//   control: 1 | version (15 bits) | type (16 bits) | flags (8 bits) | payload length (24 bits)
//   DATA:    0 | stream id (31 bits)                | flags (8 bits) | payload length (24 bits)
//
// Bounds on what the parser holds: a control frame is buffered whole, so its payload may be at most
// MAX_CONTROL_FRAME_LENGTH (Kubernetes' are tens of bytes); a header block inflates to at most
// MAX_HEADER_BLOCK_LENGTH. A DATA payload (up to 16 MiB - 1 by the 24-bit length) is never buffered here:
// the parser hands it on in the pieces it arrives in, so memory follows the chunk size, not the frame size.
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  SpdyProtocolError,
  type HeaderCompressor,
  type HeaderDecompressor,
  type SpdyHeaders,
} from './header-block.ts';

export const SPDY_VERSION = 3;

/** The most a control frame's payload may hold for the parser to accept it. */
export const MAX_CONTROL_FRAME_LENGTH = 256 * 1024;
const MAX_LENGTH = 0xffffff;
const MAX_ID = 0x7fffffff;
const FLAG_FIN = 0x01;
const FLAG_UNIDIRECTIONAL = 0x02;

const CONTROL_TYPES = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes. */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** SETTINGS ids this implementation uses. */
export const SettingId = { MAX_CONCURRENT_STREAMS: 4, INITIAL_WINDOW_SIZE: 7 } as const;

export interface DataFrame {
  type: 'DATA';
  streamId: number;
  fin: boolean;
  data: Buffer;
}
export interface SynStreamFrame {
  type: 'SYN_STREAM';
  streamId: number;
  associatedStreamId: number;
  /** 0 (highest) to 7. */
  priority: number;
  fin: boolean;
  unidirectional: boolean;
  headers: SpdyHeaders;
}
export interface SynReplyFrame {
  type: 'SYN_REPLY';
  streamId: number;
  fin: boolean;
  headers: SpdyHeaders;
}
export interface RstStreamFrame {
  type: 'RST_STREAM';
  streamId: number;
  status: number;
}
export interface Setting {
  id: number;
  value: number;
  /** FLAG_SETTINGS_PERSIST_VALUE (1) or FLAG_SETTINGS_PERSISTED (2); 0 normally. */
  flags: number;
}
export interface SettingsFrame {
  type: 'SETTINGS';
  settings: readonly Setting[];
}
export interface PingFrame {
  type: 'PING';
  id: number;
}
export interface GoAwayFrame {
  type: 'GOAWAY';
  lastGoodStreamId: number;
  status: number;
}
export interface HeadersFrame {
  type: 'HEADERS';
  streamId: number;
  fin: boolean;
  headers: SpdyHeaders;
}
export interface WindowUpdateFrame {
  type: 'WINDOW_UPDATE';
  /** 0 for the connection's window (SPDY/3.1). */
  streamId: number;
  delta: number;
}

export type SpdyFrame =
  | DataFrame
  | SynStreamFrame
  | SynReplyFrame
  | RstStreamFrame
  | SettingsFrame
  | PingFrame
  | GoAwayFrame
  | HeadersFrame
  | WindowUpdateFrame;

/** A SYN_STREAM opening `streamId`, at the highest priority and associated with no other stream. */
export function synStream(
  streamId: number,
  headers: SpdyHeaders,
  flags: { fin?: boolean; unidirectional?: boolean } = {},
): SynStreamFrame {
  const fin = flags.fin ?? false;
  const unidirectional = flags.unidirectional ?? false;
  return { type: 'SYN_STREAM', streamId, associatedStreamId: 0, priority: 0, fin, unidirectional, headers };
}

/**
 * The bytes of one frame. Header blocks go through `compressor`, the connection's one compression context
 * for this direction, so frames must be sent in the order they were encoded. Throws RangeError for a frame
 * that cannot be sent (an id out of range, a payload over 16 MiB - 1, headers over the block limit).
 */
export function encodeFrame(frame: SpdyFrame, compressor: HeaderCompressor): Buffer {
  switch (frame.type) {
    case 'DATA':
      return dataFrame(frame);
    case 'SYN_STREAM': {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(id(frame.streamId, 1));
      fixed.writeUInt32BE(id(frame.associatedStreamId, 0), 4);
      fixed[8] = (frame.priority & 0x07) << 5;
      const flags = (frame.fin ? FLAG_FIN : 0) | (frame.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
      return controlFrame(CONTROL_TYPES.SYN_STREAM, flags, withHeaders(fixed, frame.headers, compressor));
    }
    case 'SYN_REPLY':
    case 'HEADERS': {
      const payload = withHeaders(words(id(frame.streamId, 1)), frame.headers, compressor);
      return controlFrame(CONTROL_TYPES[frame.type], frame.fin ? FLAG_FIN : 0, payload);
    }
    case 'RST_STREAM':
      return controlFrame(CONTROL_TYPES.RST_STREAM, 0, words(id(frame.streamId, 1), frame.status));
    case 'SETTINGS': {
      const entries = frame.settings.flatMap((s) => [((s.flags & 0xff) << 24) | (s.id & 0xffffff), s.value]);
      return controlFrame(CONTROL_TYPES.SETTINGS, 0, words(frame.settings.length, ...entries));
    }
    case 'PING':
      return controlFrame(CONTROL_TYPES.PING, 0, words(frame.id));
    case 'GOAWAY':
      return controlFrame(CONTROL_TYPES.GOAWAY, 0, words(id(frame.lastGoodStreamId, 0), frame.status));
    case 'WINDOW_UPDATE':
      return controlFrame(CONTROL_TYPES.WINDOW_UPDATE, 0, words(id(frame.streamId, 0), id(frame.delta, 1)));
  }
}

function dataFrame(frame: DataFrame): Buffer {
  if (frame.data.length > MAX_LENGTH)
    throw new RangeError(`DATA payload of ${frame.data.length} bytes is too long`);
  const head = words(id(frame.streamId, 1), 0);
  head.writeUInt32BE(((frame.fin ? FLAG_FIN : 0) << 24) | frame.data.length, 4);
  return Buffer.concat([head, frame.data]);
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_LENGTH)
    throw new RangeError(`control frame payload of ${payload.length} bytes is too long`);
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([head, payload]);
}

function withHeaders(fixed: Buffer, headers: SpdyHeaders, compressor: HeaderCompressor): Buffer {
  // encodeHeaderBlock throws before the compressor's state moves, so a refused frame leaves it in step.
  return Buffer.concat([fixed, compressor.compress(encodeHeaderBlock(headers))]);
}

function id(value: number, min: number): number {
  if (!Number.isInteger(value) || value < min || value > MAX_ID)
    throw new RangeError(`SPDY id ${value} is out of range`);
  return value;
}

function words(...values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => bytes.writeUInt32BE(value >>> 0, index * 4));
  return bytes;
}

/**
 * Turns the peer's bytes, cut anywhere, into frames. One parser per connection: it owns the peer's header
 * decompression context. After it throws SpdyProtocolError it is unusable, as is the connection.
 */
export class FrameParser {
  private readonly input = new ByteQueue();
  private readonly decompressor: HeaderDecompressor;
  private data: { streamId: number; fin: boolean; remaining: number } | undefined;
  private failed: SpdyProtocolError | undefined;

  constructor(decompressor: HeaderDecompressor) {
    this.decompressor = decompressor;
  }

  /**
   * The frames `chunk` completes. A DATA frame's payload comes out as it arrives, possibly as several
   * DATA frames of which only the last carries the frame's FIN flag. Unknown control frame types are
   * skipped, as the SPDY/3 draft requires.
   */
  push(chunk: Buffer): SpdyFrame[] {
    if (this.failed) throw this.failed;
    this.input.push(chunk);
    const frames: SpdyFrame[] = [];
    try {
      while (this.step(frames));
    } catch (error) {
      if (error instanceof SpdyProtocolError) this.failed = error;
      throw error;
    }
    return frames;
  }

  /** Consumes what it can of the next frame; false when more bytes are needed. */
  private step(frames: SpdyFrame[]): boolean {
    if (this.data) return this.dataPiece(frames);
    if (this.input.length < 8) return false;
    const head = this.input.peek(8);
    const first = head.readUInt32BE(0);
    const flags = head[4] ?? 0;
    const length = head.readUInt32BE(4) & MAX_LENGTH;
    if ((first & 0x80000000) === 0) {
      const streamId = first & MAX_ID;
      if (streamId === 0) throw new SpdyProtocolError('DATA frame on stream 0');
      this.input.take(8);
      this.data = { streamId, fin: (flags & FLAG_FIN) !== 0, remaining: length };
      return this.dataPiece(frames);
    }
    const version = (first >>> 16) & 0x7fff;
    if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
    if (length > MAX_CONTROL_FRAME_LENGTH) {
      throw new SpdyProtocolError(`control frame of ${length} bytes exceeds ${MAX_CONTROL_FRAME_LENGTH}`);
    }
    if (this.input.length < 8 + length) return false;
    this.input.take(8);
    const frame = decodeControl(first & 0xffff, flags, this.input.take(length), this.decompressor);
    if (frame) frames.push(frame);
    return true;
  }

  private dataPiece(frames: SpdyFrame[]): boolean {
    const data = this.data;
    if (!data) return false;
    const size = Math.min(data.remaining, this.input.length);
    if (size === 0 && data.remaining > 0) return false;
    data.remaining -= size;
    const last = data.remaining === 0;
    frames.push({
      type: 'DATA',
      streamId: data.streamId,
      fin: last && data.fin,
      data: this.input.take(size),
    });
    if (last) this.data = undefined;
    return true;
  }
}

function decodeControl(
  type: number,
  flags: number,
  payload: Buffer,
  decompressor: HeaderDecompressor,
): SpdyFrame | undefined {
  const fin = (flags & FLAG_FIN) !== 0;
  const reader = new PayloadReader(type, payload);
  switch (type) {
    case CONTROL_TYPES.SYN_STREAM: {
      const streamId = reader.streamId();
      const associatedStreamId = reader.word() & MAX_ID;
      const priority = reader.byte() >> 5;
      reader.byte(); // credential slot, unused
      const headers = reader.headers(decompressor);
      const unidirectional = (flags & FLAG_UNIDIRECTIONAL) !== 0;
      return { type: 'SYN_STREAM', streamId, associatedStreamId, priority, fin, unidirectional, headers };
    }
    case CONTROL_TYPES.SYN_REPLY:
    case CONTROL_TYPES.HEADERS: {
      const streamId = reader.streamId();
      const headers = reader.headers(decompressor);
      return { type: type === CONTROL_TYPES.SYN_REPLY ? 'SYN_REPLY' : 'HEADERS', streamId, fin, headers };
    }
    case CONTROL_TYPES.RST_STREAM:
      return reader.done({ type: 'RST_STREAM', streamId: reader.streamId(), status: reader.word() });
    case CONTROL_TYPES.SETTINGS:
      return reader.done({ type: 'SETTINGS', settings: reader.settings() });
    case CONTROL_TYPES.PING:
      return reader.done({ type: 'PING', id: reader.word() });
    case CONTROL_TYPES.GOAWAY:
      return reader.done({ type: 'GOAWAY', lastGoodStreamId: reader.word() & MAX_ID, status: reader.word() });
    case CONTROL_TYPES.WINDOW_UPDATE:
      return reader.done({
        type: 'WINDOW_UPDATE',
        streamId: reader.word() & MAX_ID,
        delta: reader.word() & MAX_ID,
      });
    default:
      return undefined;
  }
}

/** Reads one control frame's payload, which must hold exactly its fields. */
class PayloadReader {
  private offset = 0;
  private readonly type: number;
  private readonly payload: Buffer;

  constructor(type: number, payload: Buffer) {
    this.type = type;
    this.payload = payload;
  }

  word(): number {
    this.need(4);
    const value = this.payload.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  byte(): number {
    this.need(1);
    const value = this.payload[this.offset] ?? 0;
    this.offset += 1;
    return value;
  }

  streamId(): number {
    const streamId = this.word() & MAX_ID;
    if (streamId === 0) throw new SpdyProtocolError(`control frame type ${this.type} on stream 0`);
    return streamId;
  }

  settings(): Setting[] {
    const count = this.word();
    if (count !== (this.payload.length - 4) / 8) {
      throw new SpdyProtocolError(
        `SETTINGS frame announces ${count} entries in ${this.payload.length} bytes`,
      );
    }
    return Array.from({ length: count }, () => {
      const flagsAndId = this.word();
      return { flags: flagsAndId >>> 24, id: flagsAndId & 0xffffff, value: this.word() };
    });
  }

  /** The rest of the payload is the compressed header block. */
  headers(decompressor: HeaderDecompressor): SpdyHeaders {
    const compressed = this.payload.subarray(this.offset);
    this.offset = this.payload.length;
    return decodeHeaderBlock(decompressor.decompress(compressed));
  }

  done<T>(frame: T): T {
    if (this.offset !== this.payload.length) {
      throw new SpdyProtocolError(
        `control frame type ${this.type} has ${this.payload.length} bytes, not ${this.offset}`,
      );
    }
    return frame;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.payload.length) {
      throw new SpdyProtocolError(
        `control frame type ${this.type} is too short (${this.payload.length} bytes)`,
      );
    }
  }
}

/** Received bytes not yet parsed, kept as the chunks they came in: linear time whatever the chunk sizes. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private first = 0; // index of the first chunk still holding bytes
  private offset = 0; // bytes already taken from that chunk
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next `count` bytes (at most `length`) without consuming them. */
  peek(count: number): Buffer {
    return this.read(count, false);
  }

  /** Consumes and returns the next `count` bytes (at most `length`). */
  take(count: number): Buffer {
    return this.read(count, true);
  }

  private read(count: number, consume: boolean): Buffer {
    const head = this.chunks[this.first];
    if (head && head.length - this.offset >= count) {
      const bytes = head.subarray(this.offset, this.offset + count);
      if (consume) this.advance(count);
      return bytes;
    }
    const bytes = Buffer.allocUnsafe(count);
    let filled = 0;
    for (let index = this.first, offset = this.offset; filled < count; index += 1, offset = 0) {
      const chunk = this.chunks[index];
      if (!chunk) break;
      filled += chunk.copy(bytes, filled, offset, Math.min(chunk.length, offset + count - filled));
    }
    if (consume) this.advance(count);
    return bytes;
  }

  private advance(count: number): void {
    this.length -= count;
    let left = count;
    while (left > 0) {
      const chunk = this.chunks[this.first];
      if (!chunk) break;
      const available = chunk.length - this.offset;
      if (left < available) {
        this.offset += left;
        return;
      }
      left -= available;
      this.first += 1;
      this.offset = 0;
    }
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first > 1024) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}
