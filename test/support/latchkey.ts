// Starts the real server (`serve`: migrations, HTTP on a free port, outbox
// worker) on a fresh database, delivering to a real SMTP sink.
import { loadConfig } from '../../src/config.ts';
import { serve, type Running } from '../../src/main.ts';
import { createDatabase, testSecretKey, type DatabaseKind, type TestDatabase } from './databases.ts';
import { SmtpSink, type SmtpSinkOptions } from './smtp-sink.ts';

export const testBaseUrl = 'http://accounts.latchkey.test';

export type TestServer = {
  url: string;
  running: Running;
  smtp: SmtpSink;
  database: TestDatabase;
  /** JSON request to the server; `body` is serialised unless it is already a string. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  stop(): Promise<void>;
};

export type RequestOptions = { body?: unknown; token?: string; headers?: Record<string, string> };
export type TestResponse = { status: number; headers: Headers; text: string; json: any };

/** `serve` on a fresh `kind` database; `smtp` configures its SMTP sink (a slow or refusing server). */
export async function startServer(kind: DatabaseKind, env: Record<string, string> = {}, options: { smtp?: SmtpSinkOptions } = {}): Promise<TestServer> {
  const smtp = await new SmtpSink(options.smtp).start();
  const database = await createDatabase(kind);
  const config = loadConfig({
    PORT: '0',
    BASE_URL: testBaseUrl,
    DATABASE_URL: database.url,
    MAIL_SERVER: '127.0.0.1',
    MAIL_PORT: String(smtp.port),
    LOG_LEVEL: 'silent',
    RATE_LIMITS: 'off',
    SECRET_KEY: testSecretKey,
    // Many servers run in one test process: each takes a port of its own for the management listener.
    MANAGEMENT_PORT: '0',
    ...env,
  });
  let running: Running;
  try {
    running = await serve(config);
  } catch (error) {
    await smtp.stop();
    await database.drop();
    throw error;
  }
  const url = running.address;
  return {
    url,
    running,
    smtp,
    database,
    request: (method, path, options = {}) => request(url, method, path, options),
    async stop() {
      await running.stop();
      await smtp.stop();
      await database.drop();
    },
  };
}

export async function request(base: string, method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const response = await fetch(new URL(path, base), { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
