// The child processes of the benches: Latchkey itself (`src/cli.ts serve`, as
// an operator runs it, from this tree or another checkout), the SMTP server
// (bench/smtp-server.ts), the bare Fastify route (bench/bare-server.ts) and
// the raw argon2id rate (bench/argon2-rate.ts). Nothing measured shares the
// bench's event loop.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, sleep } from '../../test/support/process.ts';

export const nodeArgs = ['--disable-warning=ExperimentalWarning'];
/** This checkout: the tree whose `src/cli.ts` the benches run unless told otherwise. */
export const thisTree = fileURLToPath(new URL('../..', import.meta.url));
const benchDir = fileURLToPath(new URL('..', import.meta.url));

/** The SMTP server process: counts, and Message-ID → arrival time (epoch ms, sub-millisecond). */
export class Smtp {
  readonly #child: ChildProcess;
  readonly #waiters: { key: string; resolve: (message: Record<string, unknown>) => void }[] = [];
  port = 0;

  constructor() {
    this.#child = fork(`${benchDir}smtp-server.ts`, [], { execArgv: nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: Record<string, unknown>) => {
      const index = this.#waiters.findIndex((w) => w.key in message);
      if (index >= 0) this.#waiters.splice(index, 1)[0]!.resolve(message);
    });
  }

  #ask(message: object, key: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.#waiters.push({ key, resolve });
      this.#child.send(message);
    });
  }

  async ready(): Promise<this> {
    this.port = (await this.#ask({ record: true }, 'port')).port as number;
    return this;
  }

  async count(): Promise<number> {
    return (await this.#ask({ until: 0 }, 'count')).count as number;
  }

  /** Resolves as soon as n messages have arrived in all (told by the SMTP process, no polling); one waiter at a time. */
  async reached(n: number, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`SMTP: ${n} messages not reached within ${timeoutMs} ms`)), timeoutMs); });
    try {
      await Promise.race([this.#ask({ until: n }, 'count'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until n messages have arrived in all, or the deadline (performance.now()); returns the count then. */
  async until(n: number, deadline: number): Promise<number> {
    while (performance.now() < deadline) {
      const count = await this.count();
      if (count >= n) return count;
      await sleep(50);
    }
    return this.count();
  }

  /** The arrivals recorded since the last call (which forgets them). */
  async arrivals(): Promise<Map<string, number>> {
    return new Map((await this.#ask({ arrivals: true }, 'arrivals')).arrivals as [string, number][]);
  }

  stop(): void {
    this.#child.disconnect();
  }
}

export type ServeOptions = {
  databaseUrl: string;
  smtpPort: number;
  /** The checkout to run (default this one); its `src/cli.ts` and node_modules are used. */
  tree?: string;
  /** Variables beside the bench's defaults (RATE_LIMITS=off, LOG_LEVEL=warn), e.g. limits on but out of reach. */
  env?: Record<string, string>;
  /** Extra Node options for this child only (V8 flags, --cpu-prof). */
  nodeArgs?: string[];
  /** Whether the child gets the Node options and variables of the tree's `npm start` (default true: as an operator runs it). */
  asNpmStart?: boolean;
  /** An IPC channel to the child (bench/memory-probe.ts answers on it). */
  ipc?: boolean;
};

/**
 * The Node options and environment `npm start` of `tree` gives `serve`
 * (package.json "start": `[NAME=VALUE…] exec node <options> src/cli.ts serve`),
 * read from there so that the benches cannot drift from what operators run.
 */
export function startCommand(tree = thisTree): { flags: string[]; env: Record<string, string> } {
  const { scripts } = JSON.parse(readFileSync(`${tree}/package.json`, 'utf8')) as { scripts: { start: string } };
  const words = scripts.start.split(/\s+/);
  const node = words.indexOf('node');
  return {
    flags: words.slice(node + 1, words.indexOf('src/cli.ts')).filter((w) => !nodeArgs.includes(w)),
    env: Object.fromEntries(words.slice(0, node).filter((w) => /^[A-Z_]+=/.test(w)).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)])),
  };
}

/** Runs `latchkey migrate` of `tree` on the database: each checkout applies its own migrations. */
export async function migrate(databaseUrl: string, secretKey: string, tree = thisTree): Promise<void> {
  const child = spawn(process.execPath, [...nodeArgs, 'src/cli.ts', 'migrate'], {
    cwd: tree,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, SECRET_KEY: secretKey, LOG_LEVEL: 'warn' },
  });
  const [code] = await once(child, 'exit') as [number | null];
  if (code !== 0) throw new Error(`latchkey migrate in ${tree} exited with ${code}`);
}

/** Latchkey as a child process, and a sampler of its resident memory. */
export class Latchkey {
  readonly child: ChildProcess;
  readonly url: string;
  #peak = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(child: ChildProcess, url: string) {
    this.child = child;
    this.url = url;
  }

  /**
   * The port is chosen here because the "before" checkout may not report a
   * port-0 listener's address; readiness is its /api/health (both trees have it).
   * SECRET_KEY and MANAGEMENT_PORT=off are set for every tree: one that does
   * not know them ignores them.
   */
  static async start(options: ServeOptions, secretKey: string): Promise<Latchkey> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const start = options.asNpmStart === false ? { flags: [], env: {} } : startCommand(options.tree);
    const child = spawn(process.execPath, [...nodeArgs, ...start.flags, ...(options.nodeArgs ?? []), 'src/cli.ts', 'serve'], {
      cwd: options.tree ?? thisTree,
      stdio: ['ignore', 'inherit', 'inherit', ...(options.ipc === true ? ['ipc' as const] : [])],
      env: {
        ...process.env,
        PORT: String(port), HOST: '127.0.0.1', BASE_URL: url, DATABASE_URL: options.databaseUrl,
        MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(options.smtpPort), RATE_LIMITS: 'off', LOG_LEVEL: 'warn',
        SECRET_KEY: secretKey, MANAGEMENT_PORT: 'off',
        ...start.env,
        ...options.env,
      },
    });
    const deadline = performance.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`latchkey exited with ${child.exitCode}`);
      try {
        if ((await fetch(`${url}/api/health`)).ok) break;
      } catch { /* not listening yet */ }
      if (performance.now() > deadline) throw new Error('latchkey did not answer /api/health within 30 s');
      await sleep(100);
    }
    return new Latchkey(child, url);
  }

  /** Resident memory now (VmRSS), in bytes. */
  rss(): number {
    return this.#status('VmRSS');
  }

  #status(field: 'VmRSS' | 'VmHWM'): number {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  }

  /** Starts sampling VmRSS every 50 ms; peak() stops and answers the highest sample. */
  sample(): void {
    this.#peak = this.#status('VmRSS');
    this.#timer = setInterval(() => { this.#peak = Math.max(this.#peak, this.#status('VmRSS')); }, 50);
  }

  peak(): number {
    clearInterval(this.#timer);
    return Math.max(this.#peak, this.#status('VmRSS'));
  }

  /** CPU time of the whole process (all threads), in clock ticks (/proc/PID/stat utime + stime). */
  #cpuTicks(): number {
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  }

  /**
   * Waits until the server is idle: under 10% of a core over 200 ms (at most
   * 30 s). A load generator that stops leaves requests behind in the server
   * (32 log-ins still hashing take a second or more); without this they would
   * run inside the next scenario's clock.
   */
  async settled(): Promise<void> {
    const deadline = performance.now() + 30_000;
    let before = this.#cpuTicks();
    while (performance.now() < deadline) {
      await sleep(200);
      const now = this.#cpuTicks();
      if (now - before <= 2) return;
      before = now;
    }
  }

  highWater(): number {
    return this.#status('VmHWM');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** The raw argon2id rate (bench/argon2-rate.ts in a process of its own): the median of its rounds, and their spread. */
export async function argon2Rate(): Promise<{ rate: number; min: number; max: number; rounds: number }> {
  const child = spawn(process.execPath, [...nodeArgs, `${benchDir}argon2-rate.ts`], { cwd: thisTree, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  const [code] = await once(child, 'exit') as [number | null];
  if (code !== 0) throw new Error(`bench/argon2-rate.ts exited with ${code}`);
  const { rate, rates } = JSON.parse(out) as { rate: number; rates: number[] };
  return { rate, min: Math.min(...rates), max: Math.max(...rates), rounds: rates.length };
}

/** The bare Fastify route (bench/bare-server.ts); `use` runs with its URL, then the child ends. */
export async function withBareServer<T>(use: (url: string) => Promise<T>): Promise<T> {
  const child = fork(`${benchDir}bare-server.ts`, [], { execArgv: nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = await once(child, 'message') as [{ port: number }];
  try {
    return await use(`http://127.0.0.1:${port}`);
  } finally {
    child.disconnect();
    await once(child, 'exit');
  }
}
