// A server started (and restarted) on a database the test keeps, with the
// SMTP port of the test's choosing, and the `latchkey` CLI run as an operator
// would run it. For suites where what is on disk between runs is the point.
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { serve, type Running } from '../../src/main.ts';
import type { TestDatabase } from './databases.ts';
import { request, testBaseUrl, type RequestOptions, type TestResponse } from './latchkey.ts';

export type RestartableServer = {
  running: Running;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  stop(): Promise<void>;
};

/** `serve` on `database`, mailing to 127.0.0.1:`smtpPort` (which may have nothing listening yet). */
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

/** A port that was free a moment ago: nothing answers there until the test listens on it. */
export async function reservePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `condition` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const cliPath = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** `latchkey ARGS` in a child process with only PATH and `env` (in a directory with no .env); resolves with its exit code and output. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--disable-warning=ExperimentalWarning', cliPath, ...args], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}
