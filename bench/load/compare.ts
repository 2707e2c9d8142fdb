// Before and after in one run: reset requests, then log-ins, at full speed against this
// checkout and against another (COMPARE_TREE=/path, e.g. the tree before a
// change), each `latchkey serve` of its own tree on a database of its own,
// seeded alike. Rounds alternate (bench/load/rounds.ts); after each round the
// mail drains, so every round starts with an idle outbox. The ratio is the
// median of the rounds' ratios, each round's A against the B measured beside it.
import { basename } from 'node:path';
import { testSecretKey, type DatabaseKind } from '../../test/support/databases.ts';
import { cannon, figures } from './pacing.ts';
import { Latchkey, thisTree, type Smtp } from './processes.ts';
import type { Row } from './report.ts';
import { alternate, relativeTo, roundsRow } from './rounds.ts';
import { password, resetRound, seededDatabase, type Settings } from './scenarios.ts';

type Side = { name: string; server: Latchkey; database: Awaited<ReturnType<typeof seededDatabase>> };

export async function compareScenario(kind: DatabaseKind, smtp: Smtp, settings: Settings, compare: { tree: string | undefined }, hash: string): Promise<Row[]> {
  const trees = [{ name: 'this tree', tree: thisTree }, ...(compare.tree === undefined ? [] : [{ name: `COMPARE_TREE ${basename(compare.tree)}`, tree: compare.tree }])];
  const sides: Side[] = [];
  try {
    for (const { name, tree } of trees) {
      const database = await seededDatabase(kind, settings.baseUsers, hash, tree);
      try {
        const server = await Latchkey.start({ databaseUrl: database.url, smtpPort: smtp.port, tree, nodeArgs: settings.serverNodeArgs }, testSecretKey);
        sides.push({ name, server, database });
      } catch (error) {
        await database.drop();
        throw error;
      }
    }
    const floods = {
      'reset-request': (side: Side, seconds: number) => resetRound({ ...side, smtp, settings, users: settings.baseUsers }, seconds),
      login: async (side: Side, seconds: number) => {
        await side.server.settled();
        const body = () => JSON.stringify({ email: `user${1 + Math.floor(Math.random() * settings.baseUsers)}@example.com`, password });
        return figures(await cannon(side.server.url, { path: '/api/sessions', expect: 201, body, connections: settings.connections, seconds }), 201);
      },
    };
    const rows: Row[] = [];
    for (const [flood, round] of Object.entries(floods)) {
      const contenders = sides.map((side) => ({ name: side.name, round: (seconds: number) => round(side, seconds) }));
      const results = await alternate(contenders, settings.rounds, settings.roundSeconds, settings.warmup);
      const floodRows = sides.map((side, i) => roundsRow({ database: kind, scenario: `${flood}, ${side.name}`, users: settings.baseUsers }, results[i]!, settings.roundSeconds));
      if (sides.length === 2) relativeTo(floodRows[0]!, results[0]!, results[1]!, 'COMPARE_TREE');
      rows.push(...floodRows);
    }
    return rows;
  } finally {
    for (const side of sides) {
      await side.server.stop();
      await side.database.drop();
    }
  }
}
