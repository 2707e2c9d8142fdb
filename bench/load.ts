// Load: Latchkey under autocannon, against the machine's own limits, on SQLite
// and (when reachable) PostgreSQL. Latchkey runs as a child process
// (`src/cli.ts serve`, RATE_LIMITS=off, LOG_LEVEL=warn) with a real SMTP server
// in a third process (bench/smtp-server.ts) as MAIL_SERVER; users are seeded
// straight into the database by SQL (one argon2id hash, computed once, reused).
// Prints one table and writes bench/results/load-<time>.json. See BENCHMARKS.md.
//
//   DURATION=15 SCALE_USERS=1000000 DATABASES=sqlite,postgres PROFILE=dir \
//     SCENARIOS=limits,reset,steady,login,register,me,scale SERVER_NODE_ARGS='…' \
//     node --disable-warning=ExperimentalWarning bench/load.ts
//
// DURATION: seconds per scenario; SCALE_USERS: the large database of the scale
// scenario; PROFILE: write a --cpu-prof of each server child to that directory;
// SCENARIOS: run only these (default all); SERVER_NODE_ARGS: extra Node
// options for the server child (to try V8 flags). Full-speed loads are
// autocannon's; the steady ones (1,000 resets a second, the /api/me probe) are
// paced evenly by paced() below.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { hashPassword } from '../src/security/password-hash.ts';
import { openStore } from '../src/store/store.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabase, postgresUnavailable, testSecretKey, type DatabaseKind } from '../test/support/databases.ts';

const duration = Number(process.env.DURATION ?? 15);
const warmup = Math.min(3, duration);
const scaleUsers = Number(process.env.SCALE_USERS ?? 1_000_000);
const baseUsers = 1000;
const connections = 32;
const steadyRate = 1000;
const drainLimitMs = 60_000;
const only = process.env.DATABASES?.split(',');
const profileDir = process.env.PROFILE;
/** Which scenarios to run (default all): limits, reset, steady, login, register, me, scale. */
const scenarios = new Set(process.env.SCENARIOS?.split(',') ?? ['limits', 'reset', 'steady', 'login', 'register', 'me', 'scale']);
/** Extra Node options for the server child only, e.g. to try V8 flags. */
const serverNodeArgs = process.env.SERVER_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
const password = 'correct horse battery staple';
const root = fileURLToPath(new URL('..', import.meta.url));
const nodeArgs = ['--disable-warning=ExperimentalWarning'];

// ---------- helpers ----------

function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The SMTP server process: counts, and Message-ID → arrival time. */
class Smtp {
  readonly #child: ChildProcess;
  readonly #waiters: { key: string; resolve: (message: Record<string, unknown>) => void }[] = [];
  port = 0;

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./smtp-server.ts', import.meta.url)), [], { execArgv: nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

  /** Waits until n messages have arrived in all, or the deadline; returns the count then. */
  async until(n: number, deadline: number): Promise<number> {
    while (performance.now() < deadline) {
      const count = await this.count();
      if (count >= n) return count;
      await sleep(50);
    }
    return this.count();
  }

  async arrivals(): Promise<Map<string, number>> {
    return new Map((await this.#ask({ arrivals: true }, 'arrivals')).arrivals as [string, number][]);
  }

  stop(): void {
    this.#child.disconnect();
  }
}

/** The bench's own connection to the database Latchkey serves: seeding and counting. */
type Db = {
  all(sql: string): Promise<Record<string, unknown>[]>;
  /** Users user<from>…user<to>@example.com, confirmed, all with the same hash. */
  seed(from: number, to: number, hash: string): Promise<void>;
  close(): Promise<void>;
};

function openDb(kind: DatabaseKind, url: string): Db {
  const now = Date.now();
  if (kind === 'sqlite') {
    const db = new DatabaseSync(url.slice('sqlite:'.length));
    db.exec('PRAGMA busy_timeout = 30000');
    return {
      all: async (sql) => db.prepare(sql).all() as Record<string, unknown>[],
      async seed(from, to, hash) {
        // One transaction, one prepared INSERT.
        const insert = db.prepare('INSERT INTO users (id, email, email_canonical, name, password_hash, confirmed_at, created_at, locale) VALUES (?, ?, ?, NULL, ?, ?, ?, \'en\')');
        db.exec('BEGIN IMMEDIATE');
        for (let i = from; i <= to; i++) {
          const email = `user${i}@example.com`;
          insert.run(`seed-${i}`, email, email, hash, now, now);
        }
        db.exec('COMMIT');
        db.exec('ANALYZE');
      },
      close: async () => db.close(),
    };
  }
  const client = new pg.Client({ connectionString: url });
  const connected = client.connect();
  return {
    all: async (sql) => { await connected; return (await client.query(sql)).rows as Record<string, unknown>[]; },
    async seed(from, to, hash) {
      await connected;
      await client.query(
        `insert into users (id, email, email_canonical, name, password_hash, confirmed_at, created_at, locale)
         select 'seed-' || i, 'user' || i || '@example.com', 'user' || i || '@example.com', null, $1, $2, $2, 'en'
         from generate_series($3::int, $4::int) as i`,
        [hash, now, from, to],
      );
      await client.query('analyze users');
    },
    close: async () => { await client.end(); },
  };
}

/** Latchkey as a child process, and a sampler of its resident memory. */
class Latchkey {
  readonly child: ChildProcess;
  readonly url: string;
  #peak = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(child: ChildProcess, url: string) {
    this.child = child;
    this.url = url;
  }

  static async start(databaseUrl: string, smtpPort: number): Promise<Latchkey> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const execArgv = [...nodeArgs, ...serverNodeArgs, ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`])];
    const child = spawn(process.execPath, [...execArgv, 'src/cli.ts', 'serve'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        PORT: String(port), HOST: '127.0.0.1', BASE_URL: url, DATABASE_URL: databaseUrl,
        MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(smtpPort), RATE_LIMITS: 'off', LOG_LEVEL: 'warn',
        SECRET_KEY: testSecretKey, MANAGEMENT_PORT: 'off',
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

  highWater(): number {
    return this.#status('VmHWM');
  }

  async stop(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

type Row = {
  database: DatabaseKind | '-';
  scenario: string;
  users?: number;
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  errors: number;
  requests: number;
  mailsDuring?: number;
  mailsAfter?: number;
  mailsExpected?: number;
  drainSeconds?: number;
  delayP50?: number;
  delayP99?: number;
  peakRss?: number;
  limit?: number;
  note?: string;
};

type Load = {
  path: string;
  method?: 'GET' | 'POST';
  body?: () => string;
  headers?: Record<string, string>;
  connections?: number;
  seconds?: number;
};

function cannon(url: string, load: Load): Promise<autocannon.Result> {
  const body = load.body;
  return autocannon({
    url,
    connections: load.connections ?? connections,
    duration: load.seconds ?? duration,
    requests: [{
      method: load.method ?? 'POST',
      path: load.path,
      headers: { 'content-type': 'application/json', ...load.headers },
      ...(body === undefined ? {} : { setupRequest: (request: autocannon.Request) => ({ ...request, body: body() }) }),
    }],
  });
}

function figures(result: autocannon.Result): Pick<Row, 'rps' | 'p50' | 'p99' | 'errors' | 'requests'> {
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
    requests: result.requests.total,
  };
}

/**
 * Requests at an even pace, `rate` a second, on up to `connections` keep-alive
 * connections. (autocannon's rate limit sends each connection's quota for the
 * second back to back at the start of the second: a burst, then silence.)
 * Latency is from the moment a request was due, so waiting for a free
 * connection counts.
 */
async function paced(url: string, load: Load & { rate: number }): Promise<Pick<Row, 'rps' | 'p50' | 'p99' | 'errors' | 'requests'>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: load.connections ?? connections });
  const latencies: number[] = [];
  let errors = 0;
  const one = () => new Promise<void>((resolve) => {
    const due = performance.now();
    const request = http.request(`${url}${load.path}`, { method: load.method ?? 'POST', agent, headers: { 'content-type': 'application/json', ...load.headers } }, (response) => {
      response.resume();
      response.on('end', () => {
        latencies.push(performance.now() - due);
        if ((response.statusCode ?? 500) >= 300) errors += 1;
        resolve();
      });
    });
    request.on('error', () => { errors += 1; resolve(); });
    request.end(load.body?.());
  });
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const end = start + (load.seconds ?? duration) * 1000;
  let sent = 0;
  while (performance.now() < end) {
    const due = Math.floor((performance.now() - start) * load.rate / 1000);
    for (; sent < due; sent++) {
      const request = one();
      inFlight.add(request);
      void request.then(() => inFlight.delete(request));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { rps: latencies.length / elapsed, p50: quantile(latencies, 0.5)!, p99: quantile(latencies, 0.99)!, errors, requests: latencies.length };
}

let sequence = 0;
const knownOrUnknown = (users: number) => () => {
  const n = sequence++;
  const email = n % 2 === 0 ? `user${1 + Math.floor(Math.random() * users)}@example.com` : `nobody${n}-${process.pid}@example.net`;
  return JSON.stringify({ email });
};

async function outboxCount(db: Db): Promise<number> {
  return Number((await db.all('select count(*) as n from outbox'))[0]!.n);
}

/**
 * Waits (≤60 s) for every outbox row beyond `outboxBase` to arrive; answers
 * what arrived and how long it took. Requests still in flight when autocannon
 * stops commit a little later, so the expected count is read again each time
 * and counts as final once it has not moved for a second.
 */
async function drain(db: Db, smtp: Smtp, smtpBase: number, outboxBase: number): Promise<{ expected: number; arrived: number; seconds: number }> {
  const start = performance.now();
  let expected = -1;
  let stableSince = start;
  let arrived = 0;
  let allThere: number | undefined;
  while (performance.now() - start < drainLimitMs) {
    const now = (await outboxCount(db)) - outboxBase;
    if (now !== expected) { expected = now; stableSince = performance.now(); allThere = undefined; }
    arrived = (await smtp.count()) - smtpBase;
    if (arrived >= expected) allThere ??= performance.now();
    if (allThere !== undefined && performance.now() - stableSince >= 1000) break;
    await sleep(50);
  }
  // The second of settling is not part of the drain time.
  return { expected, arrived, seconds: ((allThere ?? performance.now()) - start) / 1000 };
}

/** Reset requests, half known and half unknown: load figures, mail during and after, request-to-arrival delay, peak RSS. */
async function resetScenario(kind: DatabaseKind, db: Db, smtp: Smtp, server: Latchkey, scenario: string, users: number, rate?: number, seconds?: number): Promise<Row> {
  await smtp.arrivals(); // forget earlier arrivals
  const smtpBase = await smtp.count();
  const outboxBase = await outboxCount(db);
  const since = Date.now();
  server.sample();
  const load = { path: '/api/reset-password-request', body: knownOrUnknown(users), ...(seconds === undefined ? {} : { seconds }) };
  const measured = rate === undefined ? figures(await cannon(server.url, load)) : await paced(server.url, { ...load, rate });
  const during = (await smtp.count()) - smtpBase;
  const drained = await drain(db, smtp, smtpBase, outboxBase);
  const peakRss = server.peak();
  // Delay: the outbox row's created_at (Date.now() in the server, just before
  // its transaction commits) to the end of DATA at the SMTP server (Date.now()
  // in that process): one machine, one clock.
  const arrivals = await smtp.arrivals();
  const rows = await db.all(`select message_id, created_at from outbox where created_at >= ${since}`);
  const delays: number[] = [];
  for (const row of rows) {
    const arrived = arrivals.get(row.message_id as string);
    if (arrived !== undefined) delays.push(arrived - Number(row.created_at));
  }
  const statuses = await db.all(`select status, count(*) as n from outbox where created_at >= ${since} group by status`);
  const notSent = statuses.filter((s) => s.status !== 'sent').map((s) => `${String(s.status)} ${String(s.n)}`);
  return {
    database: kind, scenario, users, ...measured,
    mailsDuring: during, mailsAfter: drained.arrived - during, mailsExpected: drained.expected, drainSeconds: drained.seconds,
    delayP50: quantile(delays, 0.5), delayP99: quantile(delays, 0.99), peakRss,
    ...(notSent.length === 0 ? {} : { note: `not sent: ${notSent.join(', ')}` }),
  };
}

async function argon2Rate(): Promise<number> {
  const child = spawn(process.execPath, [...nodeArgs, 'bench/argon2-rate.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  await once(child, 'exit');
  return (JSON.parse(out) as { rate: number }).rate;
}

async function bareLimit(): Promise<Row> {
  const child = fork(fileURLToPath(new URL('./bare-server.ts', import.meta.url)), [], { execArgv: nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = await once(child, 'message') as [{ port: number }];
  const url = `http://127.0.0.1:${port}`;
  const body = () => '{"email":"user1@example.com"}';
  try {
    await cannon(url, { path: '/', body, seconds: warmup });
    return { database: '-', scenario: 'bare Fastify {} (limit)', ...figures(await cannon(url, { path: '/', body })) };
  } finally {
    child.disconnect();
    await once(child, 'exit');
  }
}

async function measure(kind: DatabaseKind, smtp: Smtp, limits: { argon2: number }): Promise<{ rows: Row[]; highWater: number; seedSeconds: number }> {
  const database = await createDatabase(kind);
  const rows: Row[] = [];
  const log = (row: Row) => { rows.push(row); if (process.env.VERBOSE !== undefined) console.log(JSON.stringify(row)); };
  const migrating = openStore(loadConfig({ DATABASE_URL: database.url, SECRET_KEY: testSecretKey }).database);
  await migrating.migrate();
  await migrating.close();
  const db = openDb(kind, database.url);
  const hash = await hashPassword(password);
  await db.seed(1, baseUsers, hash);
  const server = await Latchkey.start(database.url, smtp.port);
  try {
    // Warm-up: every route once under load, mail drained, figures thrown away.
    await resetScenario(kind, db, smtp, server, 'warm-up', baseUsers, undefined, warmup);

    if (scenarios.has('reset')) log(await resetScenario(kind, db, smtp, server, 'reset-request, full speed', baseUsers));
    if (scenarios.has('steady')) log(await resetScenario(kind, db, smtp, server, `reset-request, steady ${steadyRate}/s`, baseUsers, steadyRate));

    // Log-in: every request a right password for a seeded, confirmed user.
    const loginBody = () => JSON.stringify({ email: `user${1 + Math.floor(Math.random() * baseUsers)}@example.com`, password });
    if (scenarios.has('login')) {
      server.sample();
      const login = await cannon(server.url, { path: '/api/sessions', body: loginBody });
      log({ database: kind, scenario: 'login', ...figures(login), peakRss: server.peak(), limit: limits.argon2 });
    }

    if (scenarios.has('register')) {
      // A new address each time (a hash, a user row and a confirmation mail).
      const smtpBase = await smtp.count();
      const outboxBase = await outboxCount(db);
      server.sample();
      const register = await cannon(server.url, { path: '/api/users', body: () => JSON.stringify({ email: `new${sequence++}-${process.pid}@example.org`, password }) });
      const registerMail = await drain(db, smtp, smtpBase, outboxBase);
      log({ database: kind, scenario: 'register', ...figures(register), peakRss: server.peak(), limit: limits.argon2, mailsExpected: registerMail.expected, mailsAfter: registerMail.arrived, drainSeconds: registerMail.seconds });
    }

    if (scenarios.has('me')) {
      // /api/me, a steady probe, while 32 connections log in.
      const session = await fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'user1@example.com', password }) });
      const { token } = await session.json() as { token: string };
      server.sample();
      const [me, flood] = await Promise.all([
        paced(server.url, { path: '/api/me', method: 'GET', headers: { authorization: `Bearer ${token}` }, connections: 4, rate: 200 }),
        cannon(server.url, { path: '/api/sessions', body: loginBody }),
      ]);
      const peak = server.peak();
      log({ database: kind, scenario: '/api/me (200/s) during login flood', ...me, peakRss: peak });
      log({ database: kind, scenario: '  the login flood beside it', ...figures(flood), limit: limits.argon2 });
    }

    // Scale: the same reset-request load with many more users in the table.
    let seedSeconds = 0;
    if (scenarios.has('scale')) {
      const seedStart = performance.now();
      await db.seed(baseUsers + 1, scaleUsers, hash);
      seedSeconds = (performance.now() - seedStart) / 1000;
      await resetScenario(kind, db, smtp, server, 'warm-up', scaleUsers, undefined, warmup);
      log(await resetScenario(kind, db, smtp, server, 'reset-request, full speed', scaleUsers));
    }
    return { rows, highWater: server.highWater(), seedSeconds };
  } finally {
    await server.stop();
    await db.close();
    await database.drop();
  }
}

// ---------- run ----------

const started = new Date();
const machine = { cpus: availableParallelism(), model: cpus()[0]?.model, memory: totalmem(), loadavgBefore: loadavg(), node: process.version };
console.log(`load: ${duration} s per scenario, ${connections} connections, ${machine.cpus} cores (${machine.model}), load average ${machine.loadavgBefore.map((l) => l.toFixed(2)).join(' ')}`);

const smtp = await new Smtp().ready();
const rows: Row[] = [];
const perDatabase: Record<string, { highWater: number; seedSeconds: number }> = {};
const skipped: string[] = [];
let argon2 = 0;
try {
  if (scenarios.has('limits')) {
    argon2 = await argon2Rate();
    rows.push({ database: '-', scenario: 'raw argon2id hashes/s (limit)', rps: argon2, p50: NaN, p99: NaN, errors: 0, requests: 0 });
    rows.push(await bareLimit());
  }
  const kinds: DatabaseKind[] = [];
  if (only === undefined || only.includes('sqlite')) kinds.push('sqlite');
  if (only === undefined || only.includes('postgres')) {
    const reason = await postgresUnavailable();
    if (reason === undefined) kinds.push('postgres');
    else skipped.push(`postgres skipped: ${reason}`);
  }
  for (const kind of kinds) {
    const measured = await measure(kind, smtp, { argon2 });
    rows.push(...measured.rows);
    perDatabase[kind] = { highWater: measured.highWater, seedSeconds: measured.seedSeconds };
  }
} finally {
  smtp.stop();
}

// ---------- report ----------

const ms = (v: number | undefined) => v === undefined || Number.isNaN(v) ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(0);
const mb = (v: number | undefined) => v === undefined ? '-' : (v / 1048576).toFixed(0);
const header = ['database', 'scenario', 'users', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'mail during/after/expected', 'drain s', 'delay p50/p99 ms', 'peak RSS MB', 'of limit'];
const bare = rows.find((r) => r.scenario.startsWith('bare'));
const table = rows.map((r) => [
  r.database, r.scenario, r.users === undefined ? '-' : String(r.users), r.rps.toFixed(r.rps < 100 ? 1 : 0), ms(r.p50), ms(r.p99), String(r.errors),
  r.mailsAfter === undefined ? '-' : `${r.mailsDuring ?? '-'}/${r.mailsAfter}/${r.mailsExpected}`,
  r.drainSeconds === undefined ? '-' : r.drainSeconds.toFixed(1),
  r.delayP50 === undefined ? '-' : `${ms(r.delayP50)}/${ms(r.delayP99)}`,
  mb(r.peakRss),
  r.limit !== undefined && r.limit > 0 ? `${(100 * r.rps / r.limit).toFixed(0)}% argon2` : r.scenario.startsWith('reset') && bare !== undefined ? `${(100 * r.rps / bare.rps).toFixed(0)}% bare` : '-',
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${table.map(line).join('\n')}`);
for (const [kind, d] of Object.entries(perDatabase)) console.log(`${kind}: seeding ${scaleUsers - baseUsers} users took ${d.seedSeconds.toFixed(1)} s; server VmHWM ${mb(d.highWater)} MB`);
for (const s of skipped) console.log(s);
console.log('mail throughput: see bench/mail-throughput.ts (part of npm run bench) and BENCHMARKS.md');

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/load-${started.toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify({ started: started.toISOString(), machine, settings: { duration, connections, steadyRate, baseUsers, scaleUsers, warmup }, skipped, perDatabase, rows }, null, 2)}\n`);
console.log(`written ${fileURLToPath(file)}`);
