// The load bench's report: one row per scenario, printed as a table and
// written with the machine and the settings to bench/results/load-<time>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DatabaseKind } from '../../test/support/databases.ts';
import type { Figures } from './pacing.ts';

export type Row = Figures & {
  database: DatabaseKind | '-';
  scenario: string;
  users?: number;
  mailsDuring?: number;
  mailsAfter?: number;
  mailsExpected?: number;
  drainSeconds?: number;
  /** Request-to-arrival delay; a message that never arrived counts as infinitely late (Infinity, written as null in JSON). */
  delayP50?: number;
  delayP99?: number;
  /** Outbox rows of the scenario that had not arrived when the drain gave up. */
  undelivered?: number;
  peakRss?: number;
  /** The limit this row is a share of: argon2id hashes a second, or (compare rows) the other tree's rate. */
  limit?: number;
  limitName?: string;
  note?: string;
};

/** The q-quantile (nearest rank); Infinity entries sort last, so lost messages push the high quantiles to Infinity. */
export function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The middle value, or the mean of the two middle values of an even count. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle) ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!;
}

const ms = (v: number | undefined) => v === undefined || Number.isNaN(v) ? '-' : v === Infinity ? 'lost' : v < 10 ? v.toFixed(2) : v.toFixed(0);
const mb = (v: number | undefined) => v === undefined ? '-' : (v / 1048576).toFixed(0);

function ofLimit(row: Row, bare: Row | undefined): string {
  if (row.limit !== undefined && row.limit > 0) return `${(100 * row.rps / row.limit).toFixed(0)}% ${row.limitName ?? 'argon2'}`;
  if ((row.scenario.startsWith('reset') || row.scenario.startsWith('authz')) && bare !== undefined) return `${(100 * row.rps / bare.rps).toFixed(0)}% bare`;
  return '-';
}

export function printTable(rows: Row[]): void {
  const header = ['database', 'scenario', 'users', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'mail during/after/expected', 'drain s', 'delay p50/p99 ms', 'peak RSS MB', 'of limit'];
  const bare = rows.find((r) => r.scenario.startsWith('bare'));
  const table = rows.map((r) => [
    r.database, r.scenario, r.users === undefined ? '-' : String(r.users), r.rps.toFixed(r.rps < 100 ? 1 : 0), ms(r.p50), ms(r.p99),
    String(r.errors) + (r.otherStatuses === undefined ? '' : ` (${Object.entries(r.otherStatuses).map(([s, n]) => `${n}×${s}`).join(', ')})`),
    r.mailsAfter === undefined ? '-' : `${r.mailsDuring ?? '-'}/${r.mailsAfter}/${r.mailsExpected}`,
    r.drainSeconds === undefined ? '-' : r.drainSeconds.toFixed(1),
    r.delayP50 === undefined ? '-' : `${ms(r.delayP50)}/${ms(r.delayP99)}${r.undelivered ? ` (${r.undelivered} lost)` : ''}`,
    mb(r.peakRss),
    ofLimit(r, bare),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${table.map(line).join('\n')}`);
  for (const r of rows) if (r.note !== undefined) console.log(`${r.database} ${r.scenario}: ${r.note}`);
}

/** Writes bench/results/<bench>-<start time>.json and answers its path. */
export function writeResults(started: Date, contents: Record<string, unknown>, bench = 'load'): string {
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  const file = new URL(`../results/${bench}-${started.toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify({ started: started.toISOString(), ...contents }, null, 2)}\n`);
  return fileURLToPath(file);
}

export const megabytes = mb;
