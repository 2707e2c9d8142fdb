// Load: Latchkey under autocannon, against the machine's own limits, on SQLite
// and (when reachable) PostgreSQL. Latchkey runs as a child process
// (`src/cli.ts serve`, RATE_LIMITS=off, LOG_LEVEL=warn) with a real SMTP server
// in a third process (bench/smtp-server.ts) as MAIL_SERVER; users are seeded
// straight into the database by SQL (one argon2id hash, computed once, reused).
// Prints one table and writes bench/results/load-<time>.json. See BENCHMARKS.md.
//
//   DURATION=15 DATABASES=sqlite,postgres PROFILE=dir SERVER_NODE_ARGS='…' \
//     SCENARIOS=limits,reset,steady,login,register,me,authz,authz-scale,scale,compare \
//     SCALE_USERS=10000000 SCALE_SESSIONS=1000000 AUTHZ_SESSIONS=1000000 DISTINCT_TOKENS=1000 \
//     ROUNDS=4 ROUND_SECONDS=5 COMPARE_TREE=/path STEADY_RATES=1000,1500 \
//     node --disable-warning=ExperimentalWarning bench/load.ts
//
// DURATION: seconds per scenario; PROFILE: write a --cpu-prof of each server
// child to that directory; SERVER_NODE_ARGS: extra Node options for the server
// child (to try V8 flags); SCENARIOS: run only these (default all but
// compare). The alternating scenarios run ROUNDS rounds of ROUND_SECONDS on
// each side: scale and authz-scale (bench/load/scale.ts) a small database
// against a big one (SCALE_USERS users and SCALE_SESSIONS sessions;
// AUTHZ_SESSIONS sessions; defaults 10,000,000, 1,000,000 and 1,000,000, the
// sizes issue 17 names), requests with
// DISTINCT_TOKENS session tokens; STEADY_RATES: the paced reset-request rates
// of `steady` (req/s, half of them known addresses, so half as many mails);
// compare (bench/load/compare.ts) this checkout against COMPARE_TREE. The
// parts: bench/load/processes.ts (children), seed.ts (the database), pacing.ts
// (autocannon and the paced loop), scenarios.ts, scale.ts, rounds.ts,
// compare.ts, report.ts.
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { hashPassword } from '../src/security/password-hash.ts';
import { compareScenario } from './load/compare.ts';
import { cannon, figures } from './load/pacing.ts';
import { argon2Rate, Smtp, withBareServer } from './load/processes.ts';
import { megabytes, printTable, writeResults, type Row } from './load/report.ts';
import { scaleScenario, authzScaleScenario, type Seeding } from './load/scale.ts';
import { measure, password, type Settings } from './load/scenarios.ts';
import { benchDatabases } from './load/seed.ts';

const duration = Number(process.env.DURATION ?? 15);
const allScenarios = ['limits', 'reset', 'steady', 'login', 'register', 'me', 'authz', 'authz-scale', 'scale'];
for (const [old, now] of [['COMPARE_ROUNDS', 'ROUNDS'], ['COMPARE_SECONDS', 'ROUND_SECONDS']]) {
  if (process.env[old!] !== undefined) throw new Error(`${old} is now ${now} (it applies to every alternating scenario)`);
}
const settings: Settings = {
  duration,
  warmup: Math.min(3, duration),
  connections: 32,
  // Issue 17: mail must keep up at 1,500 reset requests a second (750 mails a second).
  steadyRates: (process.env.STEADY_RATES ?? '1000,1500').split(',').map(Number),
  baseUsers: 1000,
  // Full size in every run: the targets of issue 17 are stated at this size (2.7 GB of disk on SQLite, 3.5 GB on PostgreSQL, dropped at the end).
  scaleUsers: Number(process.env.SCALE_USERS ?? 10_000_000),
  scaleSessions: Number(process.env.SCALE_SESSIONS ?? 1_000_000),
  authzSessions: Number(process.env.AUTHZ_SESSIONS ?? 1_000_000),
  distinctTokens: Number(process.env.DISTINCT_TOKENS ?? 1000),
  rounds: Number(process.env.ROUNDS ?? 4),
  roundSeconds: Number(process.env.ROUND_SECONDS ?? Math.min(5, duration)),
  drainLimitMs: 60_000,
  scenarios: new Set(process.env.SCENARIOS?.split(',') ?? allScenarios),
  serverNodeArgs: [
    ...process.env.SERVER_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [],
    ...(process.env.PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}`]),
  ],
};
const compare = { tree: process.env.COMPARE_TREE };
const unknown = [...settings.scenarios].filter((s) => !allScenarios.includes(s) && s !== 'compare');
if (unknown.length > 0) throw new Error(`SCENARIOS: unknown ${unknown.join(', ')} (known: ${allScenarios.join(', ')}, compare)`);
if (compare.tree !== undefined && !settings.scenarios.has('compare')) console.log('COMPARE_TREE is set but SCENARIOS does not name compare: no comparison in this run');

const started = new Date();
const machine = { cpus: availableParallelism(), model: cpus()[0]?.model, memory: totalmem(), loadavgBefore: loadavg(), node: process.version };
console.log(`load: ${duration} s per scenario, ${settings.connections} connections, ${machine.cpus} cores (${machine.model}), load average ${machine.loadavgBefore.map((l) => l.toFixed(2)).join(' ')}`);

const smtp = await new Smtp().ready();
const rows: Row[] = [];
const perDatabase: Record<string, { highWater: number }> = {};
const seeding: Seeding[] = [];
const skipped: string[] = [];
let argon2: Awaited<ReturnType<typeof argon2Rate>> | undefined;
try {
  if (settings.scenarios.has('limits')) {
    argon2 = await argon2Rate();
    rows.push({ database: '-', scenario: 'raw argon2id hashes/s (limit)', rps: argon2.rate, p50: NaN, p99: NaN, errors: 0, requests: 0, note: `median of ${argon2.rounds} rounds, ${argon2.min.toFixed(1)}–${argon2.max.toFixed(1)}` });
  }
  // The authz rows are read as a share of the bare route: it is measured for them too.
  if (settings.scenarios.has('limits') || settings.scenarios.has('authz')) {
    rows.push(await withBareServer(async (url) => {
      const load = { path: '/', expect: 200, body: () => '{"email":"user1@example.com"}', connections: settings.connections };
      await cannon(url, { ...load, seconds: settings.warmup });
      return { database: '-', scenario: 'bare Fastify {} (limit)', ...figures(await cannon(url, { ...load, seconds: duration }), 200) } satisfies Row;
    }));
  }
  const databases = await benchDatabases();
  skipped.push(...databases.skipped);
  const own = new Set(['limits', 'compare', 'authz-scale', 'scale']);
  const hash = await hashPassword(password);
  for (const kind of databases.kinds) {
    if ([...settings.scenarios].some((s) => !own.has(s))) {
      const measured = await measure(kind, smtp, settings, { argon2: argon2?.rate ?? 0 });
      rows.push(...measured.rows);
      perDatabase[kind] = { highWater: measured.highWater };
    }
    for (const [name, scenario] of [['authz-scale', authzScaleScenario], ['scale', scaleScenario]] as const) {
      if (!settings.scenarios.has(name)) continue;
      const measured = await scenario(kind, smtp, settings, hash);
      rows.push(...measured.rows);
      seeding.push(...measured.seeding);
    }
    if (settings.scenarios.has('compare')) rows.push(...await compareScenario(kind, smtp, settings, compare, hash));
  }
} finally {
  smtp.stop();
}

printTable(rows);
for (const [kind, d] of Object.entries(perDatabase)) console.log(`${kind}: server VmHWM ${megabytes(d.highWater)} MB`);
for (const s of seeding) {
  console.log(`${s.database} ${s.scenario}: seeding ${s.users} users took ${s.usersSeconds.toFixed(1)} s, ${s.sessions} sessions ${s.sessionsSeconds.toFixed(1)} s, ${s.database === 'sqlite' ? 'ANALYZE + WAL checkpoint' : 'VACUUM ANALYZE + CHECKPOINT'} ${s.settleSeconds.toFixed(1)} s; database ${megabytes(s.bytes)} MB`);
}
for (const s of skipped) console.log(s);
console.log('mail throughput: see bench/mail-throughput.ts (part of npm run bench) and BENCHMARKS.md');
const { scenarios, ...plain } = settings;
console.log(`written ${writeResults(started, { machine: { ...machine, loadavgAfter: loadavg() }, settings: { ...plain, scenarios: [...scenarios], compare }, skipped, perDatabase, seeding, argon2, rows })}`);
