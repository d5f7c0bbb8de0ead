import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { constants, createDeflate, createInflate, deflateSync, type Deflate, type Inflate } from 'node:zlib';
import { SPDY_DICTIONARY, SPDY_DICTIONARY_ID } from './dictionary.ts';
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  HeaderCompressor,
  HeaderDecompressor,
  MAX_HEADER_BLOCK_LENGTH,
  SpdyProtocolError,
} from './header-block.ts';

// Blocks a connection could carry, the later ones repeating the earlier (back-references) and one large
// enough to push the first ones out of the 32 KiB window.
const BLOCKS = [
  encodeHeaderBlock({ streamtype: 'error' }),
  encodeHeaderBlock({ streamtype: 'stdin' }),
  encodeHeaderBlock({ streamtype: 'data', port: '8080', requestid: '0' }),
  encodeHeaderBlock({ big: 'x'.repeat(40_000) + 'y'.repeat(1000) }),
  encodeHeaderBlock({ streamtype: 'error' }),
  encodeHeaderBlock({}),
];

/** Node's streaming zlib keeps one context for the whole stream: the reference our per-block approach must match. */
async function flushThrough(stream: Deflate | Inflate, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const collect = (chunk: Buffer): void => {
    out.push(chunk);
  };
  stream.on('data', collect);
  stream.write(input);
  await new Promise<void>((resolve) => {
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      resolve();
    });
  });
  stream.off('data', collect);
  return Buffer.concat(out);
}

describe('SPDY/3 dictionary', () => {
  it('holds the 1,423 bytes of spdystream dictionary.go, which zlib names by their Adler-32', () => {
    assert.equal(SPDY_DICTIONARY.length, 1423);
    assert.equal(
      createHash('sha256').update(SPDY_DICTIONARY).digest('hex'),
      '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
    );
    const zlibHeader = deflateSync(Buffer.alloc(0), { dictionary: SPDY_DICTIONARY });
    assert.equal(zlibHeader.readUInt32BE(2), SPDY_DICTIONARY_ID);
  });
});

describe('header compression: one zlib context per direction', () => {
  it('compresses blocks that a persistent zlib inflater reads in sequence', async () => {
    const compressor = new HeaderCompressor();
    const reference = createInflate({ dictionary: SPDY_DICTIONARY });
    for (const block of BLOCKS) {
      assert.deepEqual(await flushThrough(reference, compressor.compress(block)), block);
    }
    reference.close();
  });

  it('decompresses blocks from a persistent zlib deflater flushed with Z_SYNC_FLUSH', async () => {
    const decompressor = new HeaderDecompressor();
    const reference = createDeflate({ dictionary: SPDY_DICTIONARY, level: 9 });
    for (const block of BLOCKS) {
      assert.deepEqual(decompressor.decompress(await flushThrough(reference, block)), block);
    }
    reference.close();
  });

  it('starts the stream with the zlib header naming the SPDY dictionary, as Go writes it', () => {
    const first = new HeaderCompressor().compress(encodeHeaderBlock({}));
    assert.equal(first.subarray(0, 6).toString('hex'), '78f9e3c6a7c2');
  });

  const badFirstBlocks: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['not a zlib header', Buffer.from('hello world')],
    ['another dictionary', deflateSync(Buffer.from('x'), { dictionary: Buffer.from('other') })],
    ['deflate garbage after the header', Buffer.from('78f9e3c6a7c2ffffffffffff', 'hex')],
  ];
  for (const [name, compressed] of badFirstBlocks) {
    it(`rejects a first block that is ${name}`, () => {
      assert.throws(() => new HeaderDecompressor().decompress(compressed), SpdyProtocolError);
    });
  }

  it(`rejects a block inflating beyond ${MAX_HEADER_BLOCK_LENGTH} bytes (a zlib bomb)`, () => {
    const bomb = new HeaderCompressor().compress(Buffer.alloc(4 * 1024 * 1024));
    assert.ok(bomb.length < 10 * 1024);
    assert.throws(() => new HeaderDecompressor().decompress(bomb), /does not inflate/);
  });
});

describe('name/value header blocks', () => {
  it('round-trips headers, lowercasing names and keeping NUL-separated values', () => {
    const block = encodeHeaderBlock({ StreamType: 'error', multi: 'a\0b', empty: '' });
    assert.deepEqual({ ...decodeHeaderBlock(block) }, { streamtype: 'error', multi: 'a\0b', empty: '' });
  });

  it('encodes the layout spdystream reads: count, then length-prefixed names and values', () => {
    assert.equal(
      encodeHeaderBlock({ streamtype: 'error' }).toString('hex'),
      '00000001' +
        '0000000a' +
        Buffer.from('streamtype').toString('hex') +
        '00000005' +
        Buffer.from('error').toString('hex'),
    );
  });

  it('keeps a peer\'s "__proto__" header as a plain entry', () => {
    const headers = decodeHeaderBlock(encodeHeaderBlock({ ['__proto__']: 'x' }));
    assert.equal(Object.getPrototypeOf(headers), null);
    assert.equal(headers['__proto__'], 'x');
  });

  it('refuses to encode names that collide once lowercased, empty names, or blocks over the limit', () => {
    assert.throws(() => encodeHeaderBlock({ a: '1', A: '2' }), RangeError);
    assert.throws(() => encodeHeaderBlock({ '': '1' }), RangeError);
    assert.throws(() => encodeHeaderBlock({ big: 'x'.repeat(MAX_HEADER_BLOCK_LENGTH) }), RangeError);
  });

  const word = (n: number): string => n.toString(16).padStart(8, '0');
  const text = (s: string): string => word(s.length) + Buffer.from(s).toString('hex');
  const malformed: [string, string][] = [
    ['no count', '0000'],
    ['a count over 1000', word(1001)],
    ['a count larger than its entries', word(2) + text('a') + text('1')],
    ['a name running past the end', word(1) + word(100) + '61'],
    ['an empty name', word(1) + text('') + text('1')],
    ['a repeated name', word(2) + text('a') + text('1') + text('A') + text('2')],
    ['bytes after the last header', word(1) + text('a') + text('1') + '00'],
  ];
  for (const [name, hex] of malformed) {
    it(`rejects a block with ${name}`, () => {
      assert.throws(() => decodeHeaderBlock(Buffer.from(hex, 'hex')), SpdyProtocolError);
    });
  }
});
