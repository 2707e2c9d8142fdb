// The `latchkey` command as an operator runs it: a child process with an
// explicit environment (nothing inherited but PATH), in a fresh working
// directory (no stray .env or data/ is read). The one way the suite runs
// `latchkey serve`, `worker` or any other command as a process of its own.
// `serve` listens on PORT=0 unless told otherwise and its address is read
// from its own "Server listening at …" line: no port is picked for it in
// advance (a port freed for the child may be taken by another process first).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, testSecretKey, type DatabaseKind, type TestDatabase } from './databases.ts';
import { request, testBaseUrl, type RequestOptions, type TestResponse } from './latchkey.ts';
import { until } from './process.ts';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type CliProcess = {
  child: ChildProcess;
  /** Its working directory (removed once it exits unless the test gave it). */
  cwd: string;
  exited: Promise<Exit>;
  running(): boolean;
  stdout(): string;
  stderr(): string;
  /** Everything printed so far, stdout and stderr together (in order when `logFile`). */
  output(): string;
  /** For `serve`: the address of its "Server listening at" line (LOG_LEVEL info or lower); rejects if it exits first. */
  listening: Promise<string>;
  /** Polls `check` over the output until it answers; fails at once if the process exits. */
  waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs?: number): Promise<Exclude<T, undefined | false>>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<Exit>;
  /** SIGTERM (SIGKILL after 10 s), then waits for the exit. */
  stop(): Promise<Exit>;
};

export type CliOptions = {
  /** A working directory the test keeps; default a fresh one, removed on exit. */
  cwd?: string;
  /** Remove `cwd` on exit even though the caller gave it. */
  removeCwd?: boolean;
  /**
   * Output to a file instead of pipes: a child that logs every request must
   * not make the test's event loop read its log while the test times it.
   */
  logFile?: boolean;
  /** Written to its stdin, which then closes (`users create --password-stdin`); without it stdin is closed from the start. */
  input?: string;
};

const cliPath = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** `latchkey ARGS` with only PATH, MANAGEMENT_PORT=off (two children on one default port would collide) and `env`. */
export function startCli(args: string[], env: Record<string, string>, options: CliOptions = {}): CliProcess {
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
  const logPath = join(cwd, 'latchkey-output.log');
  const fd = options.logFile === true ? openSync(logPath, 'w') : undefined;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', cliPath, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MANAGEMENT_PORT: 'off', ...env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', fd ?? 'pipe', fd ?? 'pipe'],
    });
    child.stdin?.end(options.input);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  let stdout = '';
  let stderr = '';
  let removed = false;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const output = (): string => {
    if (fd === undefined) return stdout + stderr;
    if (removed) return stdout;
    return readFileSync(logPath, 'utf8');
  };
  const running = () => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      if (options.cwd === undefined || options.removeCwd === true) {
        // The log outlives the directory, for a failure message.
        if (fd !== undefined) stdout = readFileSync(logPath, 'utf8');
        removed = true;
        rmSync(cwd, { recursive: true, force: true });
      }
      resolve({ code, signal });
    });
  });
  const waitFor = async <T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000) => {
    try {
      return await until(what, async () => {
        const value = await check();
        if ((value === undefined || value === false) && !running()) throw new Error(`latchkey ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before ${what}`);
        return value;
      }, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}:\n${output()}`);
    }
  };
  const listening = waitFor('it listens', () => /Server listening at (http:\/\/[^"\s]+)/.exec(output())?.[1]);
  // Nobody may be waiting for it (a start that is meant to fail).
  listening.catch(() => {});
  const end = async (signal: NodeJS.Signals): Promise<Exit> => {
    if (running()) child.kill(signal);
    const timer = setTimeout(() => { if (running()) child.kill('SIGKILL'); }, 10_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    child, cwd, exited, running, output, listening, waitFor,
    stdout: () => (fd === undefined ? stdout : output()),
    stderr: () => (fd === undefined ? stderr : ''),
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

/** `latchkey ARGS` run to its end (SIGKILL after `timeoutMs`): its exit code (-1 when killed) and output. */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = startCli(args, env, input === undefined ? {} : { input });
  const timer = setTimeout(() => void child.kill(), timeoutMs);
  try {
    const exit = await child.exited;
    return { code: exit.code ?? -1, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

export type ServeProcess = CliProcess;

/**
 * The TCP addresses a process listens on, e.g. ["127.0.0.1:3000"], from
 * Linux's /proc (its socket inodes, matched against the listening sockets):
 * how a test learns the port of a child on PORT=0 whose log level hides the
 * "Server listening" line, and checks which ports a child holds.
 */
export function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode !== undefined) inodes.add(inode);
    } catch { /* closed meanwhile */ }
  }
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const [, local = '', , state, , , , , , inode = ''] = line.trim().split(/\s+/);
      if (state !== '0A' || !inodes.has(inode)) continue;
      const [hex = '', port = ''] = local.split(':');
      // Each 32-bit word of the address is written in host (little-endian) order.
      const bytes = (hex.match(/.{8}/g) ?? []).flatMap((word) => (word.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
      const address = bytes.length === 4 ? bytes.join('.') : `[${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}]`;
      found.push(`${address}:${parseInt(port, 16)}`);
    }
  }
  return found.sort();
}

/** The one address a child listens on (a serve with MANAGEMENT_PORT=off), read from /proc once it listens. */
export async function onlyAddress(child: CliProcess): Promise<string> {
  const address = await child.waitFor('it listens', () => {
    const found = listeningAddresses(child.child.pid!);
    return found.length === 1 ? found[0] : undefined;
  });
  return `http://${address}`;
}

/** `latchkey serve` on a fresh SQLite file in its working directory, on a port of its choosing, unless `env` says otherwise. */
export function startServe(env: Record<string, string>, options: CliOptions = {}): ServeProcess {
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'latchkey-serve-'));
  return startCli(['serve'], { DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`, PORT: '0', ...env }, { ...options, cwd, removeCwd: options.cwd === undefined });
}

export type ServeOutcome = { listened: boolean; exit: Exit; output: string };

/** Starts `latchkey serve` and stops it as soon as it listens; a process that neither listens nor exits in 20 s is killed. */
export async function serveOutput(env: Record<string, string>): Promise<ServeOutcome> {
  const serve = startServe(env);
  const timer = setTimeout(() => void serve.stop(), 20_000);
  try {
    const listened = await serve.listening.then(() => true, () => false);
    const exit = await serve.stop();
    return { listened, exit, output: serve.output() };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A refusal to start: the process ended by itself with a non-zero exit code
 * (not killed by the test for hanging), never listened, and named `variable`.
 */
export function assertRefusedToStart(outcome: ServeOutcome, variable: string): void {
  assert.equal(outcome.listened, false, `it must not listen:\n${outcome.output}`);
  assert.equal(outcome.exit.signal, null, `it must exit by itself, not be killed for hanging:\n${outcome.output}`);
  assert.equal(typeof outcome.exit.code, 'number');
  assert.notEqual(outcome.exit.code, 0, 'a non-zero exit code');
  assert.match(outcome.output, new RegExp(`\\b${variable}\\b`));
}

export type ServerProcess = {
  url: string;
  database: TestDatabase;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** What the server has logged so far (JSON lines). */
  log(): string;
  stop(): Promise<void>;
};

/**
 * `latchkey serve` on a fresh test database (SQLite or PostgreSQL), for tests
 * that must not share an event loop with the server: its log goes to a file.
 */
export async function startServeProcess(kind: DatabaseKind, env: Record<string, string>, startTimeoutMs = 30_000): Promise<ServerProcess> {
  const database = await createDatabase(kind);
  const serve = startServe({
    HOST: '127.0.0.1', BASE_URL: testBaseUrl, DATABASE_URL: database.url, SECRET_KEY: testSecretKey,
    // info: the listening line carries the port.
    LOG_LEVEL: 'info',
    ...env,
  }, { logFile: true });
  const stop = async () => {
    await serve.stop();
    await database.drop();
  };
  let url: string;
  try {
    url = await Promise.race([serve.listening, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`latchkey serve did not listen within ${startTimeoutMs} ms:\n${serve.output()}`)), startTimeoutMs).unref())]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, database, request: (method, path, options) => request(url, method, path, options), log: serve.output, stop };
}
