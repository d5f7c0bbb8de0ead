// The fuzz suite's side of the wire: raw requests over TLS, so that request lines, headers and bodies
// no well-behaved client would send reach the servers as written.
import { connect } from 'node:tls';

export interface RawRequest {
  port: number;
  caPem: string;
  /** A client certificate, for servers that demand one. */
  client?: { certPem: string; keyPem: string };
  /** Everything sent: request line, headers, blank line, body. */
  bytes: Buffer;
  /** Stop reading after the first data plus this many ms (a followed log never ends by itself). */
  readForMs?: number;
  timeoutMs: number;
}

export interface RawResponse {
  /** 0 when the server closed without a status line. */
  status: number;
  headers: string;
  body: string;
}

/** Sends the bytes, reads until the server closes (or `readForMs` after the first data), parses the status line. */
export function rawRequest(request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written, not ended: a TLS client that half-closes makes Node drop answers it defers.
    const socket = connect(
      {
        host: '127.0.0.1',
        port: request.port,
        ca: request.caPem,
        ...(request.client && { cert: request.client.certPem, key: request.client.keyPem }),
        servername: 'localhost',
      },
      () => {
        socket.write(request.bytes);
      },
    );
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      socket.destroy();
      if (error) reject(error);
      else resolve(parseResponse(Buffer.concat(chunks)));
    };
    const timeout = setTimeout(() => {
      finish(new Error(`no complete answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (request.readForMs !== undefined && chunks.length === 1) {
        setTimeout(() => {
          finish();
        }, request.readForMs);
      }
    });
    socket.on('end', () => {
      finish();
    });
    socket.on('close', () => {
      finish();
    });
    socket.on('error', (error: Error) => {
      // A reset after the answer arrived still leaves a complete answer to judge.
      finish(chunks.length > 0 ? undefined : error);
    });
  });
}

function parseResponse(bytes: Buffer): RawResponse {
  const split = bytes.indexOf('\r\n\r\n');
  const head = (split === -1 ? bytes : bytes.subarray(0, split)).toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
  return {
    status: status === undefined ? 0 : Number(status),
    headers: head,
    body: split === -1 ? '' : bytes.subarray(split + 4).toString('utf8'),
  };
}

/** An HTTP/1.1 request as bytes; `Connection: close` so the server ends the exchange. */
export function httpRequest(options: {
  method: string;
  target: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}): Buffer {
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  const headers = {
    host: 'localhost',
    connection: 'close',
    ...(body.length > 0 && { 'content-length': String(body.length) }),
    ...options.headers,
  };
  const head = [
    `${options.method} ${options.target} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}
