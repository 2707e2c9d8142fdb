// Running Latchkey for real, as README "Deploy" says: `latchkey --version`,
// the systemd unit of examples/ started exactly as its ExecStart line says,
// and `npm start`, whose process a person stops with `kill`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { until } from './support/process.ts';
import { listeningAddresses, runCli } from './support/serve-process.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

/** The unit file's `Key=value` lines (one value per key: the unit sets each once). */
function unitSettings(path: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match !== null) settings.set(match[1]!, match[2]!);
  }
  return settings;
}

/** The direct children of `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A child's output so far, and its exit. */
function watch(child: ChildProcess): { output: () => string; exited: Promise<[number | null, NodeJS.Signals | null]> } {
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  return { output: () => output, exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]> };
}

async function refused(address: string): Promise<boolean> {
  try {
    await fetch(`http://${address}/api/health`);
    return false;
  } catch {
    return true;
  }
}

describe('latchkey --version', () => {
  test('prints the package version and exits 0', { timeout: 30_000 }, async () => {
    const result = await runCli(['--version'], {});
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${packageJson.version}\n`);
  });
});

describe('examples/latchkey.service', () => {
  const unitPath = join(root, 'examples', 'latchkey.service');

  test('its ExecStart runs the pinned Node (no npm between systemd and Latchkey), and SIGTERM stops it cleanly', { timeout: 60_000 }, async () => {
    const unit = unitSettings(unitPath);
    const execStart = unit.get('ExecStart');
    assert.ok(execStart !== undefined, 'the unit has an ExecStart line');
    assert.equal(unit.get('KillSignal') ?? 'SIGTERM', 'SIGTERM');
    // The only change from the file: where the checkout is (/opt/latchkey in the unit).
    const [command = '', ...args] = execStart.replaceAll('/opt/latchkey', root.replace(/\/$/, '')).split(/\s+/);
    assert.match(command, /node_modules\/\.bin\/node$/, 'the node that `npm ci` installs from the `node` package');
    assert.ok(!/\bnpm\b/.test(execStart), 'npm does not pass signals on: the unit must not run it');

    const cwd = mkdtempSync(join(tmpdir(), 'latchkey-unit-'));
    // The environment the unit's EnvironmentFile would give, on a port of its choosing.
    const child = spawn(command, args, {
      cwd,
      env: { PATH: '/usr/bin:/bin', PORT: '0', MANAGEMENT_PORT: 'off', LOG_LEVEL: 'info', DATABASE_URL: `sqlite:${join(cwd, 'db.sqlite')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { output, exited } = watch(child);
    try {
      const address = await until('the unit\'s command listens', () => {
        if (child.exitCode !== null) throw new Error(`it exited (${child.exitCode}):\n${output()}`);
        return /Server listening at http:\/\/([^"\s]+)/.exec(output())?.[1];
      }, 30_000);
      assert.equal((await fetch(`http://${address}/api/health`)).status, 200);
      // The pinned Node, not whatever `node` the machine has.
      assert.equal(realpathSync(readlinkSync(`/proc/${child.pid}/exe`)), realpathSync(join(root, 'node_modules', 'node', 'bin', 'node')));
      assert.ok(packageJson.dependencies.node !== undefined, 'package.json pins Node with the `node` package');

      child.kill('SIGTERM');
      const [code, signal] = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 15 s of SIGTERM:\n${output()}`)), 15_000))]);
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'a graceful stop exits 0 by itself');
      assert.ok(await refused(address), 'the port is released');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('npm start', () => {
  const npm = ['/usr/bin/npm', '/usr/local/bin/npm'].find((path) => existsSync(path));
  const skip = npm === undefined ? 'skipped: npm is not installed' : false;

  test('`kill` of the npm process stops the server too (the start script execs node, and npm passes SIGTERM to it)', { skip, timeout: 60_000 }, async () => {
    // A checkout as a person has it: package.json, src/ and node_modules/, nothing else.
    const cwd = mkdtempSync(join(tmpdir(), 'latchkey-npm-start-'));
    copyFileSync(join(root, 'package.json'), join(cwd, 'package.json'));
    symlinkSync(join(root, 'src'), join(cwd, 'src'));
    symlinkSync(join(root, 'node_modules'), join(cwd, 'node_modules'));
    const child = spawn(npm!, ['start'], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, PORT: '0', MANAGEMENT_PORT: 'off', npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { output, exited } = watch(child);
    const descendants = new Set<number>();
    const collect = (pid: number): void => {
      for (const c of childrenOf(pid)) {
        descendants.add(c);
        collect(c);
      }
    };
    try {
      const address = await until('npm start listens', () => {
        if (child.exitCode !== null) throw new Error(`npm exited (${child.exitCode}):\n${output()}`);
        return /Server listening at http:\/\/([^"\s]+)/.exec(output())?.[1];
      }, 40_000);
      collect(child.pid!);
      const server = [...descendants].find((pid) => listeningAddresses(pid).includes(address));
      assert.ok(server !== undefined, `the listening process is below npm: ${[...descendants].join(', ')}`);

      child.kill('SIGTERM');
      await exited;
      await until('the server process ends after npm was killed', () => !alive(server), 15_000);
      assert.ok(await refused(address), 'the port is released');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const pid of descendants) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('the Node options of serve', () => {
  /** The words between `node` and the script in a command line. */
  const optionsOf = (command: string, script: RegExp): string[] => {
    const words = command.trim().split(/\s+/);
    return words.slice(words.findIndex((w) => /(^|\/)node$/.test(w)) + 1, words.findIndex((w) => script.test(w)));
  };

  test('npm start, the systemd unit and the latchkey command run serve with the same V8 heap limits', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const start = optionsOf(scripts.start, /^src\/cli\.ts$/);
    assert.ok(start.some((o) => o.startsWith('--max-semi-space-size=')) && start.some((o) => o.startsWith('--max-old-space-size=')), `npm start bounds the heap: ${start.join(' ')}`);
    const unit = unitSettings(join(root, 'examples', 'latchkey.service')).get('ExecStart') ?? '';
    assert.deepEqual(optionsOf(unit, /\/src\/cli\.ts$/), start, 'the unit\'s ExecStart');
    // `env -S` splits the shebang's words; what follows `node` there is the options alone.
    const shebang = readFileSync(join(root, 'src', 'cli.ts'), 'utf8').split('\n')[0]!;
    assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
    assert.deepEqual(shebang.split(/\s+/).slice(3), start, 'the latchkey command\'s shebang');
  });

  test('npm start and the systemd unit keep a compile cache, so that later starts do not load the type stripper', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
    assert.match(scripts.start, /^NODE_COMPILE_CACHE=\S+ exec node /);
    const unit = readFileSync(join(root, 'examples', 'latchkey.service'), 'utf8');
    const cache = /^Environment=NODE_COMPILE_CACHE=(\S+)$/m.exec(unit)?.[1];
    assert.ok(cache !== undefined, 'the unit sets NODE_COMPILE_CACHE');
    assert.ok(cache.startsWith(`${unitSettings(join(root, 'examples', 'latchkey.service')).get('ReadWritePaths')}/`), 'in the one directory the unit may write');
  });
});
