// The real reverse proxies and app of examples/, started by the tests with
// the files a person copies: Debian's nginx (a temp prefix, no daemon) and
// Caddy (admin off, plain http), and the example Flask app under Debian's
// python3. Each helper adapts its example only where a test must (ports,
// the site address) and returns a Service whose stop() ends the process;
// every process started here is also killed when the test process exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, until } from './process.ts';

export const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));
export const nginxPath = '/usr/sbin/nginx';
export const caddyPath = '/usr/bin/caddy';
export const debianPython = '/usr/bin/python3';

export type Service = {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
};

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** `skip` for node:test: false when `what` is installed, else the printed reason. Throws when CI=true. */
export function skipUnless(what: 'nginx' | 'caddy' | 'flask' | 'flask-hashes'): false | string {
  const reason = what === 'nginx' ? (existsSync(nginxPath) ? undefined : `${nginxPath} is missing (apt-get install -y nginx-light)`)
    : what === 'caddy' ? (existsSync(caddyPath) ? undefined : `${caddyPath} is missing (apt-get install -y caddy)`)
    : what === 'flask' ? flaskMissing()
    : flaskHashesMissing();
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true requires ${what}: ${reason}`);
  return `skipped: ${reason}`;
}

function flaskMissing(): string | undefined {
  if (!existsSync(debianPython)) return `${debianPython} is missing (apt-get install -y python3-flask)`;
  const probe = spawnSync(debianPython, ['-c', 'import flask'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `Flask is not importable by ${debianPython} (apt-get install -y python3-flask)`;
}

/** What the import suites need: the Flask app's libraries that make the hashes, and the sqlite3 shell that exports them. */
function flaskHashesMissing(): string | undefined {
  const packages = 'apt-get install -y python3-flask-sqlalchemy python3-werkzeug python3-bcrypt python3-passlib sqlite3';
  if (!existsSync(debianPython)) return `${debianPython} is missing (${packages})`;
  const probe = spawnSync(debianPython, ['-c', 'import flask_sqlalchemy, werkzeug, bcrypt, passlib'], { encoding: 'utf8' });
  if (probe.status !== 0) return `the hash libraries are not importable by ${debianPython} (${packages})`;
  return spawnSync('sqlite3', ['-version']).status === 0 ? undefined : `the sqlite3 shell is missing (${packages})`;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** Spawns `command`, waits until it accepts connections on `port`, and fails with its output if it exits first. */
async function startService(name: string, command: string, args: string[], port: number, options: { cwd?: string; env?: Record<string, string>; cleanup?: () => void } = {}): Promise<Service> {
  const child = spawn(command, args, { cwd: options.cwd, env: { PATH: '/usr/bin:/bin', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    started.delete(child);
    options.cleanup?.();
  };
  try {
    await until(`${name} accepts connections on ${port}`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
      return accepts(port);
    }, 20_000, 50);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return { url: `http://127.0.0.1:${port}`, port, child, output: () => output, stop };
}

/**
 * A file of examples/ with its upstream addresses replaced: `replace` maps a
 * literal of the file (e.g. "127.0.0.1:3000") to what the test runs there.
 * Each literal must occur, so a changed example fails loudly here.
 */
export function adaptExample(relativePath: string, replace: Record<string, string>): string {
  let text = readFileSync(join(examplesDir, relativePath), 'utf8');
  for (const [from, to] of Object.entries(replace)) {
    if (!text.includes(from)) throw new Error(`examples/${relativePath} no longer contains ${JSON.stringify(from)}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** nginx, as a foreground process under a temp prefix, serving `site` (the body of an http { } block) on `port`. */
export async function startNginx(site: string, port: number): Promise<Service> {
  const prefix = mkdtempSync(join(tmpdir(), 'latchkey-nginx-'));
  mkdirSync(join(prefix, 'logs'));
  writeFileSync(join(prefix, 'site.conf'), site);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${join(prefix, kind)};`).join('\n  ');
  writeFileSync(join(prefix, 'nginx.conf'), `daemon off;
master_process on;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  ${temp}
  include ${join(prefix, 'site.conf')};
}
`);
  return startService('nginx', nginxPath, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], port, { cleanup: () => rmSync(prefix, { recursive: true, force: true }) });
}

/** Caddy with `caddyfile`, its admin endpoint off and its storage in a temp directory. */
export async function startCaddy(caddyfile: string, port: number): Promise<Service> {
  const home = mkdtempSync(join(tmpdir(), 'latchkey-caddy-'));
  const path = join(home, 'Caddyfile');
  // Global options first: no admin endpoint (the default :2019 would be shared by every test run), no automatic HTTPS.
  writeFileSync(path, `{\n\tadmin off\n\tauto_https off\n}\n\n${caddyfile}`);
  return startService('caddy', caddyPath, ['run', '--config', path, '--adapter', 'caddyfile'], port, {
    env: { HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  });
}

/** examples/flask-app/app.py under Debian's python3, with its debug route on, asking Latchkey at `latchkeyUrl`. */
export async function startFlaskApp(latchkeyUrl: string): Promise<Service> {
  const port = await freePort();
  return startService('the Flask app', debianPython, [join(examplesDir, 'flask-app', 'app.py')], port, {
    env: { PORT: String(port), LATCHKEY_URL: latchkeyUrl, EXAMPLE_DEBUG_ROUTES: '1', PYTHONUNBUFFERED: '1' },
  });
}
