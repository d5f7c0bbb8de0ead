// SPDY/3 name/value header blocks and their zlib compression.
//
// Each direction of a connection is ONE zlib stream preset with the SPDY dictionary: every header block is
// deflated into it and ended with a sync flush (a byte-aligned empty stored block), so the peer can inflate
// it at once, and later blocks may refer back to earlier ones. Node's zlib keeps a persistent context only
// in its asynchronous streams, which would make frame writing asynchronous and force us to serialise it.
// Instead each block is (de)compressed synchronously as a raw deflate segment whose preset dictionary is
// the last 32 KiB the stream has carried (the SPDY dictionary, then every earlier block). That is exactly
// the state a persistent context carries across a sync flush: the block ends byte-aligned, and the next
// one starts with a fresh block header whose back-references reach at most 32 KiB into that window.
// The zlib stream header (with the dictionary's id) leads the first block only.
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { SPDY_DICTIONARY, SPDY_DICTIONARY_ID } from './dictionary.ts';

/**
 * Headers of a SYN_STREAM, SYN_REPLY or HEADERS frame: lowercase names, one string value each (a value the
 * peer sent as several NUL-separated parts keeps its NUL separators; Kubernetes sends single values).
 */
export type SpdyHeaders = Readonly<Record<string, string>>;

/** The most a header block may hold decompressed; Kubernetes' blocks are a few dozen bytes. */
export const MAX_HEADER_BLOCK_LENGTH = 256 * 1024;
/** The most names a header block may hold (what spdystream allows too). */
export const MAX_HEADER_COUNT = 1000;

/** The peer broke the protocol: the connection must end with GOAWAY PROTOCOL_ERROR. */
export class SpdyProtocolError extends Error {
  override name = 'SpdyProtocolError';
}

const DEFLATE_WINDOW = 32 * 1024;
// CMF 0x78 (deflate, 32 KiB window), FLG 0xf9 (best compression, preset dictionary), DICTID: what Go's zlib
// writer emits at zlib.BestCompression, as spdystream configures it.
const ZLIB_STREAM_HEADER = Buffer.from([0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2]);

/** Serialises headers as a name/value block (before compression). Throws RangeError on bad headers. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value] as const);
  const names = new Set(entries.map(([name]) => name));
  if (names.size !== entries.length) throw new RangeError('SPDY header names must differ in more than case');
  if (names.has('')) throw new RangeError('SPDY header names must not be empty');
  const parts: Buffer[] = [uint32(entries.length)];
  for (const [name, value] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    parts.push(uint32(nameBytes.length), nameBytes, uint32(valueBytes.length), valueBytes);
  }
  const block = Buffer.concat(parts);
  if (block.length > MAX_HEADER_BLOCK_LENGTH) {
    throw new RangeError(`SPDY headers of ${block.length} bytes exceed ${MAX_HEADER_BLOCK_LENGTH}`);
  }
  return block;
}

/** Parses a decompressed name/value block. Throws SpdyProtocolError when it is malformed. */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const reader = new BlockReader(block);
  const count = reader.uint32('header count');
  if (count > MAX_HEADER_COUNT)
    throw new SpdyProtocolError(`header block has ${count} names, over ${MAX_HEADER_COUNT}`);
  // No prototype: a peer's "__proto__" header stays an ordinary entry.
  const headers = Object.create(null) as Record<string, string>;
  for (let index = 0; index < count; index += 1) {
    const name = reader.string('header name').toLowerCase();
    const value = reader.string('header value');
    if (name === '') throw new SpdyProtocolError('header block has an empty name');
    if (name in headers) throw new SpdyProtocolError(`header block repeats the name "${name}"`);
    headers[name] = value;
  }
  if (!reader.atEnd()) throw new SpdyProtocolError('header block has bytes after its last header');
  return headers;
}

/** Our side of the connection's header zlib stream. */
export class HeaderCompressor {
  private window = SPDY_DICTIONARY;
  private started = false;

  compress(block: Buffer): Buffer {
    const segment = deflateRawSync(block, {
      dictionary: this.window,
      level: constants.Z_BEST_COMPRESSION,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    this.window = slide(this.window, block);
    if (this.started) return segment;
    this.started = true;
    return Buffer.concat([ZLIB_STREAM_HEADER, segment]);
  }
}

/** The peer's side of the connection's header zlib stream. */
export class HeaderDecompressor {
  private window = SPDY_DICTIONARY;
  private started = false;

  /** Throws SpdyProtocolError when the block does not inflate or inflates beyond MAX_HEADER_BLOCK_LENGTH. */
  decompress(compressed: Buffer): Buffer {
    const segment = this.started ? compressed : withoutStreamHeader(compressed);
    this.started = true;
    let block: Buffer;
    try {
      block = inflateRawSync(segment, {
        dictionary: this.window,
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: MAX_HEADER_BLOCK_LENGTH,
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SpdyProtocolError(
        `header block does not inflate (at most ${MAX_HEADER_BLOCK_LENGTH} bytes): ${reason}`,
      );
    }
    this.window = slide(this.window, block);
    return block;
  }
}

function withoutStreamHeader(compressed: Buffer): Buffer {
  const [cmf = 0, flg = 0] = compressed;
  if (compressed.length < 2 || (cmf & 0x0f) !== 8 || ((cmf << 8) | flg) % 31 !== 0) {
    throw new SpdyProtocolError('first header block does not start a zlib stream');
  }
  if ((flg & 0x20) === 0) return compressed.subarray(2);
  if (compressed.length < 6 || compressed.readUInt32BE(2) !== SPDY_DICTIONARY_ID) {
    throw new SpdyProtocolError('first header block names a zlib dictionary other than SPDY/3');
  }
  return compressed.subarray(6);
}

function slide(window: Buffer, block: Buffer): Buffer {
  const joined = Buffer.concat([window, block]);
  // A copy, so the window does not keep a large block's memory alive.
  return joined.length <= DEFLATE_WINDOW
    ? joined
    : Buffer.from(joined.subarray(joined.length - DEFLATE_WINDOW));
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

class BlockReader {
  private offset = 0;
  private readonly block: Buffer;

  constructor(block: Buffer) {
    this.block = block;
  }

  uint32(field: string): number {
    if (this.offset + 4 > this.block.length)
      throw new SpdyProtocolError(`header block ends inside a ${field}`);
    const value = this.block.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  string(field: string): string {
    const length = this.uint32(`${field} length`);
    if (length > this.block.length - this.offset)
      throw new SpdyProtocolError(`header block ends inside a ${field}`);
    const value = this.block.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  atEnd(): boolean {
    return this.offset === this.block.length;
  }
}
