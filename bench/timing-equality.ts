// API.md's "about the same time", measured exactly as test/timing.test.ts
// asserts it (test/support/timing.ts: `latchkey serve` and the SMTP sink each
// in a process of their own, rate limits on but out of reach, statuses
// checked, rotating order), with more rounds (ROUNDS, default 200) and the
// table printed. Exits 1 when any comparison is OVER or any answer was wrong.
import { onEachDatabase, type DatabaseKind } from '../test/support/databases.ts';
import { comparisons, describeMeasured, measure, startTimingTarget } from '../test/support/timing.ts';

const rounds = Number(process.env.ROUNDS ?? 200);
if (!Number.isSafeInteger(rounds) || rounds < 50) throw new Error('ROUNDS: a whole number, at least 50 (API.md: over 50 requests per case)');

let over = 0;

async function measureOn(kind: DatabaseKind): Promise<void> {
  const target = await startTimingTarget(kind);
  try {
    console.log(`${kind} (${rounds} interleaved rounds per case, rate limits on and out of reach)`);
    for (const comparison of comparisons) {
      const measured = await measure(target, comparison, rounds);
      if (!measured.within) over += 1;
      console.log(`  ${describeMeasured(measured)}`);
    }
  } finally {
    await target.stop();
  }
}

await onEachDatabase(measureOn);
if (over > 0) {
  console.error(`${over} comparison(s) OVER the allowance`);
  process.exitCode = 1;
}
