// An HTTP request sent exactly as given, through node:http: no Content-Type
// added, any Host header allowed. fetch() adds or forbids both.
import { request as httpRequest } from 'node:http';
import type { TestResponse } from './latchkey.ts';

export type RawRequestOptions = { body?: string | Uint8Array; headers?: Record<string, string> };

export function rawRequest(base: string, method: string, path: string, options: RawRequestOptions = {}): Promise<TestResponse> {
  const url = new URL(path, base);
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) headers['content-length'] ??= String(body.byteLength);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
        }
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
