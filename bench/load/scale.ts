// Scale: the same requests against a small database and a big one, each
// served by its own `latchkey serve`, rounds alternating (bench/load/rounds.ts)
// so that big ÷ small comes from one run. Requests that need a session carry
// DISTINCT_TOKENS different seeded tokens in turn (spread evenly over the
// table), never one: one token keeps one row hot and flatters any cache.
//   authz-scale: the reverse-proxy endpoints with 1,000 live sessions and with
//     AUTHZ_SESSIONS, beside the bare Fastify route in the same rounds.
//   scale: reset requests (half known addresses) and GET /api/me with
//     1,000 users and sessions, and with SCALE_USERS users and SCALE_SESSIONS sessions.
import type { DatabaseKind } from '../../test/support/databases.ts';
import { testSecretKey } from '../../test/support/databases.ts';
import { cannon, figures, type Load } from './pacing.ts';
import { Latchkey, withBareServer, type Smtp } from './processes.ts';
import type { Row } from './report.ts';
import { alternate, ratio, relativeTo, roundsRow, type Contender } from './rounds.ts';
import { resetRound, seededDatabase, type Settings } from './scenarios.ts';
import { sessionToken } from './seed.ts';

/** How long a big database took to make, and its size. */
export type Seeding = { database: DatabaseKind; scenario: string; users: number; sessions: number; usersSeconds: number; sessionsSeconds: number; settleSeconds: number; bytes: number };

type Side = { users: number; sessions: number; server: Latchkey; database: Awaited<ReturnType<typeof seededDatabase>>; tokens: () => string; seeding: Seeding };

const seconds = async (work: () => Promise<void>) => { const start = performance.now(); await work(); return (performance.now() - start) / 1000; };

/** A database with `users` users and `sessions` live sessions (timed), settled, and a server on it. */
async function startSide(kind: DatabaseKind, scenario: string, smtp: Smtp, settings: Settings, hash: string, users: number, sessions: number): Promise<Side> {
  const database = await seededDatabase(kind, 0, hash);
  try {
    const usersSeconds = await seconds(() => database.db.seed(1, users, hash));
    const sessionsSeconds = await seconds(() => database.db.seedSessions(1, sessions, users, Date.now()));
    const settleSeconds = await seconds(() => database.db.settle());
    const seeding = { database: kind, scenario, users, sessions, usersSeconds, sessionsSeconds, settleSeconds, bytes: await database.db.size() };
    console.log(`${kind} ${scenario}: ${users} users in ${usersSeconds.toFixed(1)} s, ${sessions} sessions in ${sessionsSeconds.toFixed(1)} s, settled in ${settleSeconds.toFixed(1)} s, ${(seeding.bytes / 1048576).toFixed(0)} MB`);
    const server = await Latchkey.start({ databaseUrl: database.url, smtpPort: smtp.port, nodeArgs: settings.serverNodeArgs }, testSecretKey);
    const count = Math.min(settings.distinctTokens, sessions);
    const tokens = Array.from({ length: count }, (_, k) => sessionToken(1 + Math.floor(k * sessions / count)));
    let next = 0;
    return { users, sessions, server, database, tokens: () => tokens[next++ % tokens.length]!, seeding };
  } catch (error) {
    await database.drop();
    throw error;
  }
}

async function withSides<T>(start: (() => Promise<Side>)[], use: (sides: Side[]) => Promise<T>): Promise<T> {
  const sides: Side[] = [];
  try {
    for (const s of start) sides.push(await s());
    return await use(sides);
  } finally {
    for (const side of sides) {
      await side.server.stop();
      await side.database.drop();
    }
  }
}

/** A full-speed round of GET `path` on the side's server, each request with the next of its tokens. */
function sessionRound(side: Side, settings: Settings, path: string, headers: (token: string) => Record<string, string>): Contender['round'] {
  return async (seconds) => {
    await side.server.settled();
    const load: Load = { path, method: 'GET', expect: 200, headersEach: () => headers(side.tokens()), connections: settings.connections, seconds };
    return figures(await cannon(side.server.url, load), 200);
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const cookie = (token: string) => ({ cookie: `latchkey_session=${token}`, accept: 'text/html', 'x-forwarded-method': 'GET' });
const sessions = (side: Side) => `${side.sessions.toLocaleString('en')} sessions`;

export async function authzScaleScenario(kind: DatabaseKind, smtp: Smtp, settings: Settings, hash: string): Promise<{ rows: Row[]; seeding: Seeding[] }> {
  const scenario = 'authz-scale';
  return withSides([
    () => startSide(kind, scenario, smtp, settings, hash, settings.baseUsers, settings.baseUsers),
    () => startSide(kind, scenario, smtp, settings, hash, settings.baseUsers, settings.authzSessions),
  ], (sides) => withBareServer(async (bareUrl) => {
    const [small, big] = sides as [Side, Side];
    const bareLoad: Load = { path: '/', expect: 200, body: () => '{"email":"user1@example.com"}', connections: settings.connections, seconds: 0 };
    const endpoints = [
      { name: 'auth-request (bearer)', path: '/api/authz/auth-request', headers: bearer },
      { name: 'forward-auth (cookie)', path: '/api/authz/forward-auth', headers: cookie },
    ];
    const contenders: Contender[] = [
      { name: 'bare', round: async (s) => figures(await cannon(bareUrl, { ...bareLoad, seconds: s }), 200) },
      ...endpoints.flatMap((e) => [small, big].map((side) => ({ name: `${e.name}, ${sessions(side)}`, round: sessionRound(side, settings, e.path, e.headers) }))),
    ];
    const results = await alternate(contenders, settings.rounds, settings.roundSeconds, settings.warmup);
    const bare = results[0]!;
    const measured = results.slice(1);
    const rows = [roundsRow({ database: kind, scenario: `bare Fastify {} (limit), ${scenario} rounds` }, bare, settings.roundSeconds)];
    for (let i = 0; i < measured.length; i++) {
      const row = relativeTo(roundsRow({ database: kind, scenario: `${scenario} ${contenders[i + 1]!.name}`, users: settings.baseUsers }, measured[i]!, settings.roundSeconds), measured[i]!, bare, 'bare');
      if (i % 2 === 1) row.note += `; ${sessions(big)} ÷ ${sessions(small)} ${ratio(measured[i]!, measured[i - 1]!).text}`;
      rows.push(row);
    }
    return { rows, seeding: sides.map((s) => s.seeding) };
  }));
}

export async function scaleScenario(kind: DatabaseKind, smtp: Smtp, settings: Settings, hash: string): Promise<{ rows: Row[]; seeding: Seeding[] }> {
  const scenario = 'scale';
  return withSides([
    () => startSide(kind, scenario, smtp, settings, hash, settings.baseUsers, settings.baseUsers),
    () => startSide(kind, scenario, smtp, settings, hash, settings.scaleUsers, settings.scaleSessions),
  ], async (sides) => {
    const label = (side: Side) => `${side.users.toLocaleString('en')} users, ${sessions(side)}`;
    const contenders: Contender[] = [
      ...sides.map((side) => ({ name: `reset-request, ${label(side)}`, round: (s: number) => resetRound({ ...side, smtp, settings }, s) })),
      ...sides.map((side) => ({ name: `/api/me, ${label(side)}`, round: sessionRound(side, settings, '/api/me', bearer) })),
    ];
    const results = await alternate(contenders, settings.rounds, settings.roundSeconds, settings.warmup);
    const rows = results.map((rounds, i) => roundsRow({ database: kind, scenario: `${scenario} ${contenders[i]!.name}`, users: sides[i % 2]!.users }, rounds, settings.roundSeconds));
    // The big database's rows as a share of the small one's (the target: at least 90%).
    for (const i of [1, 3]) relativeTo(rows[i]!, results[i]!, results[i - 1]!, 'small db');
    return { rows, seeding: sides.map((s) => s.seeding) };
  });
}
