// `latchkey serve` as a process of its own (src/cli.ts, as an operator runs
// it) on a fresh database, for tests that must not share an event loop with
// the server: it listens on port 0 and the address is read from its own
// "Server listening at …" log line. Its log goes to a file, read on failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDatabase, testSecretKey, type DatabaseKind, type TestDatabase } from './databases.ts';
import { request, testBaseUrl, type RequestOptions, type TestResponse } from './latchkey.ts';
import { until } from './process.ts';

const root = resolve(import.meta.dirname, '../..');

export type ServerProcess = {
  url: string;
  database: TestDatabase;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** What the server has logged so far (JSON lines). */
  log(): string;
  stop(): Promise<void>;
};

export async function startServeProcess(kind: DatabaseKind, env: Record<string, string>, startTimeoutMs = 30_000): Promise<ServerProcess> {
  const database = await createDatabase(kind);
  const logDir = mkdtempSync(join(tmpdir(), 'latchkey-serve-log-'));
  const logFile = join(logDir, 'serve.log');
  const fd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli.ts', 'serve'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        PORT: '0', HOST: '127.0.0.1', BASE_URL: testBaseUrl, DATABASE_URL: database.url,
        SECRET_KEY: testSecretKey, MANAGEMENT_PORT: 'off',
        // info: the listening line carries the port.
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const log = () => readFileSync(logFile, 'utf8');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(logDir, { recursive: true, force: true });
    await database.drop();
  };

  const listening = () => /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(log())?.[1];
  let url: string;
  try {
    url = await until('latchkey serve listening', () => {
      if (child.exitCode !== null) throw new Error(`latchkey serve exited with ${child.exitCode}`);
      return listening();
    }, startTimeoutMs);
  } catch (error) {
    const output = log();
    await stop();
    throw new Error(`${(error as Error).message}:\n${output}`);
  }
  return { url, database, request: (method, path, options) => request(url, method, path, options), log, stop };
}
