// Rounds that alternate between contenders (A B C, C B A, A B C …) so that
// whatever else the machine does falls on all of them alike: every ratio is
// the median of per-round ratios, each side measured beside the other in the
// same round of the same run.
import type { Figures } from './pacing.ts';
import { median, type Row } from './report.ts';

export type Contender = { name: string; round(seconds: number): Promise<Figures> };

/** One warm-up round each (thrown away), then `rounds` rounds of `seconds`; answers each contender's rounds, in the order given. */
export async function alternate(contenders: Contender[], rounds: number, seconds: number, warmup: number): Promise<Figures[][]> {
  for (const contender of contenders) await contender.round(warmup);
  const results = contenders.map(() => [] as Figures[]);
  const indices = contenders.map((_, i) => i);
  for (let round = 0; round < rounds; round++) {
    for (const i of round % 2 === 0 ? indices : [...indices].reverse()) results[i]!.push(await contenders[i]!.round(seconds));
  }
  return results;
}

/** A row of medians over a contender's rounds, its rate per round in the note. */
export function roundsRow(row: Pick<Row, 'database' | 'scenario' | 'users'>, rounds: Figures[], seconds: number): Row {
  const rates = rounds.map((r) => r.rps);
  return {
    ...row,
    rps: median(rates), p50: median(rounds.map((r) => r.p50)), p99: median(rounds.map((r) => r.p99)),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0), requests: rounds.reduce((sum, r) => sum + r.requests, 0),
    note: `median of ${rounds.length} rounds of ${seconds} s; req/s per round ${rates.map((r) => r.toFixed(0)).join(', ')}`,
  };
}

/** Per-round rate ratios a ÷ b, their median and spread. */
export function ratio(a: Figures[], b: Figures[]): { median: number; text: string } {
  const ratios = a.map((r, i) => r.rps / b[i]!.rps);
  const m = median(ratios);
  return { median: m, text: `per round ${ratios.map((r) => r.toFixed(3)).join(', ')}, median ${m.toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})` };
}

/** Makes `row`'s "of limit" the median per-round ratio to `base` (named `name`), and notes the ratios. */
export function relativeTo(row: Row, rounds: Figures[], base: Figures[], name: string): Row {
  const r = ratio(rounds, base);
  row.limit = row.rps / r.median;
  row.limitName = name;
  row.note += `; ÷ ${name} ${r.text}`;
  return row;
}
