// Before and after in one run: reset requests, then log-ins, at full speed against this
// checkout and against another (COMPARE_TREE=/path, e.g. the tree before a
// change), each `latchkey serve` of its own tree on a database of its own,
// seeded alike. Rounds alternate (A B, B A, A B …) so that whatever else the
// machine does falls on both alike; after each round the mail drains, so every
// round starts with an idle outbox. The ratio is the median of the rounds'
// ratios, each round's A against the B measured beside it.
import { basename } from 'node:path';
import { testSecretKey, type DatabaseKind } from '../../test/support/databases.ts';
import { cannon, figures, type Figures } from './pacing.ts';
import { Latchkey, thisTree, type Smtp } from './processes.ts';
import { median, type Row } from './report.ts';
import { drain, knownOrUnknown, password, seededDatabase, type Settings } from './scenarios.ts';
import { outboxCount } from './seed.ts';

export type CompareSettings = { tree: string | undefined; rounds: number; seconds: number };

type Round = { reset: Figures; login: Figures };
type Side = { name: string; server: Latchkey; database: Awaited<ReturnType<typeof seededDatabase>>; rounds: Round[] };

async function oneRound(side: Side, smtp: Smtp, settings: Settings, seconds: number): Promise<Round> {
  await side.server.settled();
  const smtpBase = await smtp.count();
  const outboxBase = await outboxCount(side.database.db);
  const load = { path: '/api/reset-password-request', expect: 202, body: knownOrUnknown(settings.baseUsers), connections: settings.connections, seconds };
  const measured = figures(await cannon(side.server.url, load), 202);
  const drained = await drain(side.database.db, smtp, smtpBase, outboxBase, settings.drainLimitMs);
  if (drained.arrived < drained.expected) throw new Error(`${side.name}: ${drained.expected - drained.arrived} messages did not arrive within ${settings.drainLimitMs} ms`);
  await side.server.settled();
  const login = { path: '/api/sessions', expect: 201, body: () => JSON.stringify({ email: `user${1 + Math.floor(Math.random() * settings.baseUsers)}@example.com`, password }), connections: settings.connections, seconds };
  return { reset: measured, login: figures(await cannon(side.server.url, login), 201) };
}

function summary(kind: DatabaseKind, side: Side, flood: keyof Round, users: number, rounds: number, seconds: number): Row {
  const figures = side.rounds.map((r) => r[flood]);
  const rates = figures.map((r) => r.rps);
  return {
    database: kind, scenario: `${flood === 'reset' ? 'reset-request' : 'login'}, ${side.name}`, users,
    rps: median(rates), p50: median(figures.map((r) => r.p50)), p99: median(figures.map((r) => r.p99)),
    errors: figures.reduce((sum, r) => sum + r.errors, 0), requests: figures.reduce((sum, r) => sum + r.requests, 0),
    note: `median of ${rounds} rounds of ${seconds} s; req/s per round ${rates.map((r) => r.toFixed(0)).join(', ')}`,
  };
}

export async function compareScenario(kind: DatabaseKind, smtp: Smtp, settings: Settings, compare: CompareSettings, hash: string): Promise<Row[]> {
  const trees = [{ name: 'this tree', tree: thisTree }, ...(compare.tree === undefined ? [] : [{ name: `COMPARE_TREE ${basename(compare.tree)}`, tree: compare.tree }])];
  const sides: Side[] = [];
  try {
    for (const { name, tree } of trees) {
      const database = await seededDatabase(kind, settings.baseUsers, hash, tree);
      try {
        const server = await Latchkey.start({ databaseUrl: database.url, smtpPort: smtp.port, tree, nodeArgs: settings.serverNodeArgs }, testSecretKey);
        sides.push({ name, server, database, rounds: [] });
      } catch (error) {
        await database.drop();
        throw error;
      }
    }
    for (const side of sides) await oneRound(side, smtp, settings, settings.warmup);
    for (let round = 0; round < compare.rounds; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) side.rounds.push(await oneRound(side, smtp, settings, compare.seconds));
    }
  } finally {
    for (const side of sides) {
      await side.server.stop();
      await side.database.drop();
    }
  }
  return (['reset', 'login'] as const).flatMap((flood) => {
    const rows = sides.map((side) => summary(kind, side, flood, settings.baseUsers, compare.rounds, compare.seconds));
    if (sides.length === 2) {
      const [after, before] = sides as [Side, Side];
      const ratios = after.rounds.map((r, i) => r[flood].rps / before.rounds[i]![flood].rps);
      rows[0]!.limit = rows[0]!.rps / median(ratios);
      rows[0]!.limitName = 'COMPARE_TREE';
      rows[0]!.note += `; this tree ÷ COMPARE_TREE per round ${ratios.map((r) => r.toFixed(3)).join(', ')}, median ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`;
    }
    return rows;
  });
}
