// `latchkey serve` as an operator runs it: a child process with its own
// environment, on a fresh SQLite file, its log read from stdout and stderr.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type ServeProcess = {
  /** The address it listens on, once it does; rejects if it exits first. */
  listening: Promise<string>;
  exited: Promise<Exit>;
  /** Everything printed so far, stdout and stderr together. */
  output(): string;
  /** SIGTERM (SIGKILL after 10 s), then waits for the exit. */
  stop(): Promise<Exit>;
};

export function startServe(env: Record<string, string>): ServeProcess {
  const cwd = mkdtempSync(join(tmpdir(), 'latchkey-serve-'));
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', cli, 'serve'], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}`,
      PORT: '0',
      // Several of these may run at once: none takes the management port.
      MANAGEMENT_PORT: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let listened: (url: string) => void;
  let failed: (error: Error) => void;
  const listening = new Promise<string>((resolve, reject) => {
    listened = resolve;
    failed = reject;
  });
  // Nobody may be waiting for it (a start that is meant to fail).
  listening.catch(() => {});
  const collect = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    const url = /Server listening at (http:\/\/[^"\s]+)/.exec(output)?.[1];
    if (url !== undefined) listened(url);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      failed(new Error(`latchkey serve exited (${code ?? signal}) before listening:\n${output}`));
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, signal });
    });
  });
  return {
    listening,
    exited,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
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
