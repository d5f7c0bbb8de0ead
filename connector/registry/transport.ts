// The real HttpTransport: Node's https client, trusting the public roots plus an optional extra CA
// (a private registry's, or the emulator's) given as an option, never through the process's
// environment. Bodies are read up to the caller's limit and no further.
import { request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { rootCertificates } from 'node:tls';
import { ClassifiedError } from '../../runtime/errors.ts';
import type { HttpRequest, HttpResponse, HttpTransport } from './client.ts';

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function tooLarge(url: URL, maxBytes: number): ClassifiedError {
  return new ClassifiedError(
    'ImagePullFailed',
    `${url.host} sent more than ${maxBytes} bytes for ${url.pathname}`,
  );
}

export function httpsTransport(options: { caPem?: string | undefined } = {}): HttpTransport {
  // `ca` replaces Node's trust store, so the public roots stay beside the extra CA.
  const ca = options.caPem === undefined ? undefined : [...rootCertificates, options.caPem];
  return {
    get: ({ url, headers, signal, maxBytes }: HttpRequest): Promise<HttpResponse> =>
      new Promise((resolve, reject) => {
        if (url.protocol !== 'https:') {
          reject(new ClassifiedError('ImagePullFailed', `${url.href} is not an https URL`));
          return;
        }
        const fail = (error: Error): void => {
          request_.destroy();
          reject(error);
        };
        const request_ = request(url, { method: 'GET', headers, signal, ...(ca && { ca }) }, (response) => {
          const declared = Number(response.headers['content-length'] ?? 0);
          if (declared > maxBytes) {
            fail(tooLarge(url, maxBytes));
            return;
          }
          const chunks: Buffer[] = [];
          let length = 0;
          response.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > maxBytes) fail(tooLarge(url, maxBytes));
            else chunks.push(chunk);
          });
          response.on('error', reject);
          response.on('end', () => {
            resolve({
              status: response.statusCode ?? 0,
              headers: flatten(response.headers),
              body: Buffer.concat(chunks),
            });
          });
        });
        request_.on('error', (error) => {
          reject(
            new Error(`${url.host}: ${signal.aborted ? 'no answer in time' : error.message}`, {
              cause: error,
            }),
          );
        });
        request_.end();
      }),
  };
}
