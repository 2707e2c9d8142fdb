// The load bench's scenarios on one database: reset requests (full speed and
// steady), log-in, sign-up, the /api/me probe beside a log-in flood and the
// reverse-proxy endpoints; each against a `latchkey serve` child. (Big
// databases: bench/load/scale.ts.)
import { hashPassword } from '../../src/security/password-hash.ts';
import { createDatabase, testSecretKey, type DatabaseKind } from '../../test/support/databases.ts';
import { sleep } from '../../test/support/process.ts';
import { cannon, figures, paced, type Figures } from './pacing.ts';
import { Latchkey, migrate, type Smtp } from './processes.ts';
import { quantile, type Row } from './report.ts';
import { openDb, outboxCount, type Db } from './seed.ts';

export type Settings = {
  duration: number;
  warmup: number;
  connections: number;
  steadyRates: number[];
  baseUsers: number;
  /** The big database of the scale scenario (SCALE_USERS, SCALE_SESSIONS) and of authz-scale (AUTHZ_SESSIONS). */
  scaleUsers: number;
  scaleSessions: number;
  authzSessions: number;
  /** Different session tokens the requests of scale and authz-scale take in turn (DISTINCT_TOKENS). */
  distinctTokens: number;
  /** Alternating scenarios (compare, scale, authz-scale): ROUNDS rounds of ROUND_SECONDS each. */
  rounds: number;
  roundSeconds: number;
  drainLimitMs: number;
  scenarios: Set<string>;
  /** Extra Node options for the server child (SERVER_NODE_ARGS, PROFILE). */
  serverNodeArgs: string[];
};

export const password = 'correct horse battery staple';

let sequence = 0;
/** Reset-request bodies: half a seeded user chosen at random, half an address nobody has. */
export const knownOrUnknown = (users: number) => () => {
  const n = sequence++;
  const email = n % 2 === 0 ? `user${1 + Math.floor(Math.random() * users)}@example.com` : `nobody${n}-${process.pid}@example.net`;
  return JSON.stringify({ email });
};

/**
 * Waits (≤ drainLimitMs) for every outbox row beyond `outboxBase` to arrive;
 * answers what arrived and how long it took. Requests still in flight when
 * the load stops commit a little later, so the expected count is read again
 * each time and counts as final once it has not moved for a second.
 */
export async function drain(db: Db, smtp: Smtp, smtpBase: number, outboxBase: number, drainLimitMs: number): Promise<{ expected: number; arrived: number; seconds: number }> {
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

/**
 * One round of reset requests at full speed, then the mail drained (all of it
 * must arrive), so that every round starts with an idle outbox.
 */
export async function resetRound(side: { server: Latchkey; database: { db: Db }; smtp: Smtp; settings: Settings; users: number }, seconds: number): Promise<Figures> {
  const { server, database, smtp, settings } = side;
  await server.settled();
  const smtpBase = await smtp.count();
  const outboxBase = await outboxCount(database.db);
  const load = { path: '/api/reset-password-request', expect: 202, body: knownOrUnknown(side.users), connections: settings.connections, seconds };
  const measured = figures(await cannon(server.url, load), 202);
  const drained = await drain(database.db, smtp, smtpBase, outboxBase, settings.drainLimitMs);
  if (drained.arrived < drained.expected) throw new Error(`${drained.expected - drained.arrived} messages did not arrive within ${settings.drainLimitMs} ms`);
  // Half the addresses are seeded users: far fewer messages means the seeding and the requests disagree on the addresses.
  if (drained.expected < measured.requests / 4) throw new Error(`${measured.requests} reset requests made only ${drained.expected} messages: are the users seeded as user<n>@example.com?`);
  return measured;
}

type Target = { kind: DatabaseKind; db: Db; smtp: Smtp; server: Latchkey; settings: Settings };

/** Reset requests, half known and half unknown: load figures, mail during and after, request-to-arrival delay, peak RSS. */
export async function resetScenario(target: Target, scenario: string, users: number, options: { rate?: number; seconds?: number } = {}): Promise<Row> {
  const { kind, db, smtp, server, settings } = target;
  await server.settled();
  await smtp.arrivals(); // forget earlier arrivals
  const smtpBase = await smtp.count();
  const outboxBase = await outboxCount(db);
  const since = Date.now();
  server.sample();
  const load = { path: '/api/reset-password-request', expect: 202, body: knownOrUnknown(users), connections: settings.connections, seconds: options.seconds ?? settings.duration };
  const measured = options.rate === undefined ? figures(await cannon(server.url, load), 202) : await paced(server.url, { ...load, rate: options.rate });
  const during = (await smtp.count()) - smtpBase;
  const drained = await drain(db, smtp, smtpBase, outboxBase, settings.drainLimitMs);
  const peakRss = server.peak();
  // Delay: the outbox row's created_at (Date.now() in the server, just before
  // its transaction commits) to the end of DATA at the SMTP server (that
  // process's clock): one machine, one clock. A row whose message had not
  // arrived when the drain ended is infinitely late, not left out.
  const arrivals = await smtp.arrivals();
  const rows = await db.all(`select message_id, created_at from outbox where created_at >= ${since}`);
  const delays = rows.map((row) => (arrivals.get(row.message_id as string) ?? Infinity) - Number(row.created_at));
  const undelivered = delays.filter((d) => d === Infinity).length;
  const statuses = await db.all(`select status, count(*) as n from outbox where created_at >= ${since} group by status`);
  const notSent = statuses.filter((s) => s.status !== 'sent').map((s) => `${String(s.status)} ${String(s.n)}`);
  return {
    database: kind, scenario, users, ...measured,
    mailsDuring: during, mailsAfter: drained.arrived - during, mailsExpected: drained.expected, drainSeconds: drained.seconds,
    delayP50: quantile(delays, 0.5), delayP99: quantile(delays, 0.99), undelivered, peakRss,
    ...(notSent.length === 0 ? {} : { note: `not sent: ${notSent.join(', ')}` }),
  };
}

/** A fresh database of `kind`, migrated by the tree's own `latchkey migrate`, with `users` seeded; `drop()` closes and drops it. */
export async function seededDatabase(kind: DatabaseKind, users: number, hash: string, tree?: string): Promise<{ url: string; db: Db; drop(): Promise<void> }> {
  const database = await createDatabase(kind);
  await migrate(database.url, testSecretKey, tree);
  const db = openDb(kind, database.url);
  await db.seed(1, users, hash);
  return { url: database.url, db, drop: async () => { await db.close(); await database.drop(); } };
}

/** A bearer token of the seeded user1. */
async function logInOnce(url: string): Promise<string> {
  const session = await fetch(`${url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'user1@example.com', password }) });
  return (await session.json() as { token: string }).token;
}

export async function measure(kind: DatabaseKind, smtp: Smtp, settings: Settings, limits: { argon2: number }): Promise<{ rows: Row[]; highWater: number }> {
  const { baseUsers, scenarios } = settings;
  const rows: Row[] = [];
  const log = (row: Row) => { rows.push(row); if (process.env.VERBOSE !== undefined) console.log(JSON.stringify(row)); };
  const hash = await hashPassword(password);
  const database = await seededDatabase(kind, baseUsers, hash);
  const server = await Latchkey.start({ databaseUrl: database.url, smtpPort: smtp.port, nodeArgs: settings.serverNodeArgs }, testSecretKey);
  const target: Target = { kind, db: database.db, smtp, server, settings };
  const load = { connections: settings.connections, seconds: settings.duration };
  try {
    // Warm-up: the reset route under load, mail drained, figures thrown away.
    await resetScenario(target, 'warm-up', baseUsers, { seconds: settings.warmup });

    if (scenarios.has('reset')) log(await resetScenario(target, 'reset-request, full speed', baseUsers));
    if (scenarios.has('steady')) for (const rate of settings.steadyRates) log(await resetScenario(target, `reset-request, steady ${rate}/s`, baseUsers, { rate }));

    // Log-in: every request a right password for a seeded, confirmed user.
    const loginBody = () => JSON.stringify({ email: `user${1 + Math.floor(Math.random() * baseUsers)}@example.com`, password });
    const login = { ...load, path: '/api/sessions', expect: 201, body: loginBody };
    if (scenarios.has('login')) {
      await server.settled();
      server.sample();
      const result = figures(await cannon(server.url, login), login.expect);
      log({ database: kind, scenario: 'login', ...result, peakRss: server.peak(), limit: limits.argon2 });
    }

    if (scenarios.has('register')) {
      // A new address each time (a hash, a user row and a confirmation mail).
      await server.settled();
      const smtpBase = await smtp.count();
      const outboxBase = await outboxCount(database.db);
      server.sample();
      const register = figures(await cannon(server.url, { ...load, path: '/api/users', expect: 202, body: () => JSON.stringify({ email: `new${sequence++}-${process.pid}@example.org`, password }) }), 202);
      const mail = await drain(database.db, smtp, smtpBase, outboxBase, settings.drainLimitMs);
      log({ database: kind, scenario: 'register', ...register, peakRss: server.peak(), limit: limits.argon2, mailsExpected: mail.expected, mailsAfter: mail.arrived, drainSeconds: mail.seconds });
    }

    if (scenarios.has('me')) {
      // /api/me, a steady probe, while 32 connections log in.
      const token = await logInOnce(server.url);
      await server.settled();
      server.sample();
      const [me, flood] = await Promise.all([
        paced(server.url, { ...load, path: '/api/me', expect: 200, method: 'GET', headers: { authorization: `Bearer ${token}` }, connections: 4, rate: 200 }),
        cannon(server.url, login),
      ]);
      const peak = server.peak();
      log({ database: kind, scenario: '/api/me (200/s) during login flood', ...me, peakRss: peak });
      log({ database: kind, scenario: '  the login flood beside it', ...figures(flood, login.expect), limit: limits.argon2 });
    }

    if (scenarios.has('authz')) {
      // The reverse-proxy endpoints at full speed: each answer a session look-up with its user
      // (the idle-use record is written at most once a minute per session). Read beside the bare route.
      const token = await logInOnce(server.url);
      const asked: { scenario: string; path: string; headers: Record<string, string> }[] = [
        { scenario: 'authz auth-request (bearer)', path: '/api/authz/auth-request', headers: { authorization: `Bearer ${token}` } },
        { scenario: 'authz forward-auth (cookie)', path: '/api/authz/forward-auth', headers: { cookie: `latchkey_session=${token}`, accept: 'text/html', 'x-forwarded-method': 'GET' } },
      ];
      for (const { scenario, path, headers } of asked) {
        const authz = { ...load, path, expect: 200, method: 'GET' as const, headers };
        await server.settled();
        await cannon(server.url, { ...authz, seconds: settings.warmup });
        server.sample();
        log({ database: kind, scenario, ...figures(await cannon(server.url, authz), 200), peakRss: server.peak() });
      }
    }

    return { rows, highWater: server.highWater() };
  } finally {
    await server.stop();
    await database.drop();
  }
}
