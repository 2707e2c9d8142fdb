// API.md: the answers that must not tell whether an address has an account
// take "about the same time": over 50 interleaved requests per case, medians
// within 5 ms or 10%, whichever is larger. Asserted here on both databases,
// against `latchkey serve` in its own process with the SMTP sink in another
// and every rate limit on (out of reach); see test/support/timing.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eachDatabase } from './support/databases.ts';
import { comparisons, describeMeasured, measure, startTimingTarget, type TimingTarget } from './support/timing.ts';

// More than the contract's 50, so that one slow outlier moves no median.
const rounds = 60;

eachDatabase((kind, skip) => {
  describe(`about the same time on ${kind}`, { skip, timeout: 300_000 }, () => {
    let target: TimingTarget;

    before(async () => {
      target = await startTimingTarget(kind);
    });

    after(() => target?.stop());

    for (const comparison of comparisons) {
      test(`${comparison.label}: ${comparison.cases.map((c) => `${c.name} (${c.status})`).join(' vs ')}`, async (t) => {
        const measured = await measure(target, comparison, rounds);
        t.diagnostic(describeMeasured(measured));
        assert.ok(measured.results.every((result) => result.samples >= 50), 'at least 50 requests per case');
        assert.ok(measured.within, describeMeasured(measured));
      });
    }
  });
});
