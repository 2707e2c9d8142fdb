// A server started (and restarted) on a database the test keeps, with the
// SMTP port of the test's choosing (an SmtpSink that may be down: the port
// stays the test's). For suites where what is on disk between runs is the
// point; the CLI as an operator runs it is test/support/serve-process.ts.
import { loadConfig } from '../../src/config.ts';
import { serve, type Running } from '../../src/main.ts';
import type { TestDatabase } from './databases.ts';
import { request, testBaseUrl, type RequestOptions, type TestResponse } from './latchkey.ts';

export type RestartableServer = {
  running: Running;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  stop(): Promise<void>;
};

/** `serve` on `database`, mailing to 127.0.0.1:`smtpPort`. */
export async function serveOn(database: TestDatabase, smtpPort: number, env: Record<string, string>): Promise<RestartableServer> {
  const running = await serve(loadConfig({
    PORT: '0',
    BASE_URL: testBaseUrl,
    DATABASE_URL: database.url,
    MAIL_SERVER: '127.0.0.1',
    MAIL_PORT: String(smtpPort),
    LOG_LEVEL: 'silent',
    RATE_LIMITS: 'off',
    MANAGEMENT_PORT: 'off',
    ...env,
  }));
  return { running, request: (method, path, options) => request(running.address, method, path, options), stop: () => running.stop() };
}
