// Interop with github.com/moby/spdystream, the SPDY library the API server and kubectl use, through the
// small Go peer in testdata/spdystream-peer. It builds offline from the Go module cache (the control plane
// build fills it with the same spdystream version); the test is skipped only where Go is not installed.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { SpdyConnection } from './connection.ts';
import { acceptSpdyUpgrade, isSpdyUpgrade } from './upgrade.ts';

const goMissing = spawnSync('go', ['version']).error !== undefined;
const peerSource = join(import.meta.dirname, 'testdata', 'spdystream-peer');
/** A bound on each Go process, so that a hang fails the test instead of stalling the run. */
const PEER_TIMEOUT_MS = 60_000;

/** Runs the peer; resolves with its exit code and output. */
async function run(peer: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  peer.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  peer.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(peer, 'exit')) as [number | null];
  return { code, output };
}

describe('interop with Go spdystream', { skip: goMissing && 'Go is not installed' }, () => {
  let buildDir: string;
  let peerBinary: string;

  before(async () => {
    buildDir = mkdtempSync(join(tmpdir(), 'spdystream-peer-'));
    peerBinary = join(buildDir, 'spdystream-peer');
    const build = spawn('go', ['build', '-o', peerBinary, '.'], {
      cwd: peerSource,
      env: {
        ...process.env,
        GOFLAGS: '-mod=mod -buildvcs=false',
        GOPROXY: 'off',
        GOWORK: 'off',
        CGO_ENABLED: '0',
      },
      timeout: 5 * PEER_TIMEOUT_MS,
    });
    const { code, output } = await run(build);
    assert.equal(code, 0, `go build of the spdystream peer failed:\n${output}`);
  });
  after(() => {
    rmSync(buildDir, { recursive: true, force: true });
  });

  it('serves a Go client as the API server dials: upgrade, pings, exec streams with headers, 1 MiB echoes', async () => {
    const headersSeen: string[] = [];
    const server = createServer();
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
      assert.ok(isSpdyUpgrade(request));
      const connection = acceptSpdyUpgrade(socket, head, { protocol: 'v4.channel.k8s.io' });
      connection.on('stream', (stream) => {
        headersSeen.push(JSON.stringify({ ...stream.headers }));
        stream.reply();
        stream.pipe(stream);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const { code, output } = await run(
      spawn(peerBinary, ['client', String(port)], { timeout: PEER_TIMEOUT_MS }),
    );
    server.close();
    assert.equal(code, 0, output);
    assert.deepEqual(output.trim().split('\n'), [
      'ok upgrade 101 v4.channel.k8s.io',
      'ok ping',
      'ok echo error 1048575',
      'ok echo stdin 1048575',
      'ok echo stdout 1048572',
    ]);
    assert.deepEqual(headersSeen, [
      '{"streamtype":"error"}',
      '{"streamtype":"stdin"}',
      '{"streamtype":"stdout"}',
    ]);
  });

  it('talks as a client to a Go server: streams opened, 1 MiB echoed, GOAWAY on close', async () => {
    const peer = spawn(peerBinary, ['mirror'], { timeout: PEER_TIMEOUT_MS });
    const exited = run(peer);
    const [firstLine] = (await once(peer.stdout, 'data')) as [Buffer];
    const socket = connect(Number(firstLine.toString().trim()), '127.0.0.1');
    await once(socket, 'connect');
    const connection = new SpdyConnection(socket, { role: 'client' });
    const payloads = [Buffer.from('error'), Buffer.alloc(1024 * 1024, 9), Buffer.from('stdout')];
    const echoes = await Promise.all(
      payloads.map(async (payload, index) => {
        const stream = connection.openStream({ streamtype: ['error', 'stdin', 'stdout'][index] ?? '' });
        stream.end(payload);
        return (await buffer(stream)).equals(payload);
      }),
    );
    assert.deepEqual(echoes, [true, true, true]);
    connection.close();
    const { code, output } = await exited;
    assert.equal(code, 0, output);
  });
});
