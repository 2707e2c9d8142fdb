// PostgreSQL: a pg pool whose connections run every query as a prepared
// statement, LISTEN/NOTIFY to wake workers in other processes, and the flags
// for what it can do that SQLite cannot (row locks, writing CTEs, advisory locks).
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Announcer, OpenedDatabase } from './dialect.ts';
import type { Database } from './schema.ts';

const outboxChannel = 'latchkey_outbox';

export function openPostgres(url: string): OpenedDatabase {
  const pool = new pg.Pool({
    Client: preparingClient(),
    connectionString: url,
    max: 10,
    // BIGINT columns hold millisecond times, well inside a double's exact range.
    types: { getTypeParser: (oid, format) => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) },
  });
  // A client that loses its connection must not crash the process: the pool
  // reports idle ones, but one checked out between two statements (a
  // transaction, the pruner's advisory lock) emits on itself, where nothing
  // listens. The statement in flight, if any, still fails with the error.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    capabilities: {
      rowLocks: true,
      writingCtes: true,
      groupCommit: false,
      advisoryLocks: true,
      listen: (onNotify) => listenPostgres(url, onNotify),
      announcer: new OutboxAnnouncer(() => sql`select pg_notify(${outboxChannel}, '')`.execute(db)),
    },
  };
}

/**
 * Sends the outbox NOTIFY at most once per `intervalMs`: each one costs
 * PostgreSQL a signal to every listener at commit and each listener a wake-up
 * (issue 6: a NOTIFY per message took 15–20% of the reset rate). A write of
 * mail inside the interval carries none; one NOTIFY at the interval's end
 * covers it, so a worker elsewhere learns of every message within `intervalMs`.
 */
export class OutboxAnnouncer implements Announcer {
  readonly notifyCall = `pg_notify('${outboxChannel}', '')`;
  #lastAt = -Infinity;
  #trailing: NodeJS.Timeout | undefined;
  readonly #notify: () => Promise<unknown>;
  readonly #intervalMs: number;

  constructor(notify: () => Promise<unknown>, intervalMs = 20) {
    this.#notify = notify;
    this.#intervalMs = intervalMs;
  }

  claim(): boolean {
    const now = performance.now();
    const since = now - this.#lastAt;
    if (since >= this.#intervalMs) {
      this.#lastAt = now;
      return true;
    }
    this.#trailing ??= setTimeout(() => {
      this.#trailing = undefined;
      this.#lastAt = performance.now();
      this.#notify().catch(() => { /* workers elsewhere still poll */ });
    }, this.#intervalMs - since);
    return false;
  }

  async now(): Promise<void> {
    this.#lastAt = performance.now();
    await this.#notify();
  }

  stop(): void {
    clearTimeout(this.#trailing);
    this.#trailing = undefined;
  }
}

/**
 * A pg.Client class that runs every parameterised query as a named prepared
 * statement, so each connection parses and plans a query shape once instead
 * of on every call (the SQL Kysely generates comes from a small, fixed set of
 * shapes; issue 6 measured +18% reset requests a second). Each pool gets a
 * class of its own, so the statement names belong to one database.
 */
function preparingClient(): typeof pg.Client {
  /** Names by SQL text; the name changes with each fresh preparation. */
  const names = new Map<string, string>();
  let preparations = 0;
  const statementName = (text: string): string => {
    let name = names.get(text);
    if (name === undefined) {
      preparations += 1;
      name = `latchkey_${preparations}`;
      names.set(text, name);
    }
    return name;
  };

  return class PreparingClient extends pg.Client {
    override query(...args: unknown[]): never {
      const [text, values] = args;
      if (typeof text !== 'string' || !Array.isArray(values) || args.length !== 2) return (super.query as (...a: unknown[]) => never)(...args);
      const run = () => super.query({ name: statementName(text), text, values }) as Promise<unknown>;
      return run().catch((error: unknown) => {
        // A migration from another instance changed a table under a prepared
        // `select *`: prepare the query afresh under a new name and run it again.
        if (!isStalePlan(error)) throw error;
        names.delete(text);
        return run();
      }) as never;
    }
  };
}

function isStalePlan(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === '0A000' && e.message?.includes('cached plan must not change result type') === true;
}

/** A dedicated connection LISTENing on the outbox channel; returns its closer. */
async function listenPostgres(url: string, onNotify: () => void): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  client.on('notification', () => onNotify());
  await client.connect();
  await client.query(`listen ${outboxChannel}`);
  return () => client.end();
}
