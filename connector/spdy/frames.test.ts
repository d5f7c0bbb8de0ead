import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeFrame,
  FrameParser,
  GoAwayStatus,
  MAX_CONTROL_FRAME_LENGTH,
  RstStatus,
  SettingId,
  synStream,
  type SpdyFrame,
} from './frames.ts';
import { HeaderCompressor, HeaderDecompressor, SpdyProtocolError } from './header-block.ts';

// What github.com/moby/spdystream v0.5.1's Framer writes (spdy/write.go), captured by running it: one
// Framer, so the header blocks share one zlib stream and later blocks refer back to earlier ones.
const GO_CAPTURE: [string, SpdyFrame][] = [
  [
    '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff',
    synStream(1, { streamtype: 'error' }),
  ],
  ['800300010000001700000003000000000000c22e555c92929907000000ffff', synStream(3, { streamtype: 'stdin' })],
  [
    '800300010100001900000005000000000000c22ac5565c92925f5a02000000ffff',
    { ...synStream(5, { streamtype: 'stdout' }), fin: true },
  ],
  [
    '800300020000000e000000026260606000000000ffff',
    { type: 'SYN_REPLY', streamId: 2, fin: false, headers: {} },
  ],
  ['000000030000000568656c6c6f', { type: 'DATA', streamId: 3, fin: false, data: Buffer.from('hello') }],
  ['0000000301000000', { type: 'DATA', streamId: 3, fin: true, data: Buffer.alloc(0) }],
  [
    '800300080000000c00000001c2632a000000ffff',
    { type: 'HEADERS', streamId: 1, fin: false, headers: { streamtype: 'error' } },
  ],
  ['80030003000000080000000500000005', { type: 'RST_STREAM', streamId: 5, status: RstStatus.CANCEL }],
  [
    '800300040000000c000000010000000700010000',
    { type: 'SETTINGS', settings: [{ id: SettingId.INITIAL_WINDOW_SIZE, value: 65536, flags: 0 }] },
  ],
  ['800300060000000400000001', { type: 'PING', id: 1 }],
  ['80030009000000080000000300001000', { type: 'WINDOW_UPDATE', streamId: 3, delta: 4096 }],
  ['80030007000000080000000500000000', { type: 'GOAWAY', lastGoodStreamId: 5, status: GoAwayStatus.OK }],
];
const GO_BYTES = Buffer.from(GO_CAPTURE.map(([hex]) => hex).join(''), 'hex');
const GO_FRAMES = GO_CAPTURE.map(([, frame]) => frame);

/** Frames as plain data: headers without their null prototype, DATA pieces of one frame joined. */
function normalise(frames: SpdyFrame[]): unknown[] {
  const out: SpdyFrame[] = [];
  for (const frame of frames) {
    const previous = out.at(-1);
    if (
      frame.type === 'DATA' &&
      previous?.type === 'DATA' &&
      previous.streamId === frame.streamId &&
      !previous.fin
    ) {
      out[out.length - 1] = { ...frame, data: Buffer.concat([previous.data, frame.data]) };
    } else out.push('headers' in frame ? { ...frame, headers: { ...frame.headers } } : frame);
  }
  return out.map((frame) => (frame.type === 'DATA' ? { ...frame, data: frame.data.toString('hex') } : frame));
}

function parseAll(chunks: Buffer[]): SpdyFrame[] {
  const parser = new FrameParser(new HeaderDecompressor());
  return chunks.flatMap((chunk) => parser.push(chunk));
}

describe('frame codec', () => {
  it("parses the bytes Go's spdystream writes, header blocks sharing one zlib stream", () => {
    assert.deepEqual(normalise(parseAll([GO_BYTES])), normalise(GO_FRAMES));
  });

  it('encodes every frame type and parses it back', () => {
    const frames: SpdyFrame[] = [
      ...GO_FRAMES,
      {
        ...synStream(7, { streamtype: 'data', port: '80', requestid: '3' }),
        unidirectional: true,
        priority: 7,
        associatedStreamId: 1,
      },
      { type: 'SYN_REPLY', streamId: 7, fin: true, headers: { a: 'b' } },
      { type: 'WINDOW_UPDATE', streamId: 0, delta: 0x7fffffff },
      { type: 'PING', id: 0xffffffff },
      { type: 'GOAWAY', lastGoodStreamId: 0, status: GoAwayStatus.PROTOCOL_ERROR },
      { type: 'SETTINGS', settings: [] },
      {
        type: 'SETTINGS',
        settings: [
          { id: SettingId.MAX_CONCURRENT_STREAMS, value: 100, flags: 1 },
          { id: SettingId.INITIAL_WINDOW_SIZE, value: 0x7fffffff, flags: 0 },
        ],
      },
      { type: 'DATA', streamId: 0x7fffffff, fin: true, data: Buffer.alloc(70_000, 7) },
    ];
    const compressor = new HeaderCompressor();
    const bytes = frames.map((frame) => encodeFrame(frame, compressor));
    assert.deepEqual(normalise(parseAll(bytes)), normalise(frames));
  });

  it('encodes the fixed-size frames byte for byte as Go does', () => {
    const compressor = new HeaderCompressor();
    for (const [hex, frame] of GO_CAPTURE.filter(([, f]) => !('headers' in f))) {
      assert.equal(encodeFrame(frame, compressor).toString('hex'), hex, frame.type);
    }
  });

  it('parses the same frames whatever the chunk boundaries', () => {
    const expected = normalise(GO_FRAMES);
    for (let split = 0; split <= GO_BYTES.length; split += 1) {
      const chunks = [GO_BYTES.subarray(0, split), GO_BYTES.subarray(split)];
      assert.deepEqual(normalise(parseAll(chunks)), expected, `split at ${split}`);
    }
    const bytewise = Array.from(GO_BYTES, (byte) => Buffer.from([byte]));
    assert.deepEqual(normalise(parseAll(bytewise)), expected);
  });

  it('hands on a DATA payload in the pieces it arrives in, FIN on the last piece only', () => {
    const parser = new FrameParser(new HeaderDecompressor());
    const frame = encodeFrame(
      { type: 'DATA', streamId: 1, fin: true, data: Buffer.alloc(3000, 1) },
      new HeaderCompressor(),
    );
    const pieces = [frame.subarray(0, 1000), frame.subarray(1000, 2000), frame.subarray(2000)].map((c) =>
      parser.push(c),
    );
    assert.deepEqual(
      pieces.map((frames) => frames.map((f) => (f.type === 'DATA' ? [f.data.length, f.fin] : f.type))),
      [[[992, false]], [[1000, false]], [[1008, true]]],
    );
  });

  it('skips control frames of unknown type (CREDENTIAL) and goes on', () => {
    const credential = Buffer.from('8003000a00000004deadbeef', 'hex');
    const ping = encodeFrame({ type: 'PING', id: 2 }, new HeaderCompressor());
    assert.deepEqual(parseAll([credential, ping]), [{ type: 'PING', id: 2 }]);
  });

  it('refuses to encode ids out of range', () => {
    const compressor = new HeaderCompressor();
    assert.throws(() => encodeFrame({ type: 'RST_STREAM', streamId: 0, status: 1 }, compressor), RangeError);
    assert.throws(
      () => encodeFrame({ type: 'DATA', streamId: 2 ** 31, fin: false, data: Buffer.alloc(0) }, compressor),
      RangeError,
    );
    assert.throws(
      () => encodeFrame({ type: 'WINDOW_UPDATE', streamId: 1, delta: 0 }, compressor),
      RangeError,
    );
  });
});

describe('frame parser on malformed input', () => {
  const length = (n: number): string => n.toString(16).padStart(6, '0');
  const cases: [string, string, RegExp][] = [
    ['SPDY/2', '80020001000000080000000100000000', /unsupported SPDY version 2/],
    ['an oversized control frame', `80030001 00${length(MAX_CONTROL_FRAME_LENGTH + 1)}`, /exceeds/],
    ['DATA on stream 0', '0000000000000001ff', /stream 0/],
    ['RST_STREAM on stream 0', '80030003000000080000000000000001', /stream 0/],
    ['a short RST_STREAM', '80030003000000040000000100000001', /too short/],
    ['a long PING', '80030006000000080000000100000001', /not 4/],
    [
      'a SETTINGS count its length contradicts',
      '800300040000000c000000020000000700010000',
      /announces 2 entries/,
    ],
    [
      'SYN_STREAM headers inflating to nothing',
      '80030001000000100000000100000000000078f9e3c6a7c2',
      /ends inside/,
    ],
    [
      'SYN_STREAM headers that do not inflate',
      '80030001000000140000000100000000000078f9e3c6a7c2ffffffff',
      /does not inflate/,
    ],
    ['a SYN_STREAM without headers', '800300010000000a00000001000000000000', /zlib stream/],
  ];
  for (const [name, hex, message] of cases) {
    it(`rejects ${name}, and everything after it`, () => {
      const parser = new FrameParser(new HeaderDecompressor());
      const bytes = Buffer.from(hex.replaceAll(' ', ''), 'hex');
      assert.throws(
        () => parser.push(bytes),
        (error) => error instanceof SpdyProtocolError && message.test(error.message),
      );
      assert.throws(() => parser.push(GO_BYTES), SpdyProtocolError);
    });
  }

  it('rejects an oversized control frame from its first 8 bytes, before buffering its payload', () => {
    const parser = new FrameParser(new HeaderDecompressor());
    assert.throws(() => parser.push(Buffer.from('8003000100ffffff', 'hex')), SpdyProtocolError);
  });
});
