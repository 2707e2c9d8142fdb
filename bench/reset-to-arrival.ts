// One reset request at a time, end to end: from sending the request to the
// mail's arrival at a real SMTP server, on SQLite and (when reachable) PostgreSQL.
// Prints the answer time and the arrival time, median and p95 over the runs.
import { onEachDatabase, type DatabaseKind } from '../test/support/databases.ts';
import { startServer } from '../test/support/latchkey.ts';
import { tokenFromLink } from '../test/support/smtp-sink.ts';

const runs = Number(process.env.RUNS ?? 100);

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(kind: DatabaseKind): Promise<void> {
  const server = await startServer(kind);
  try {
    const email = 'bench@example.com';
    await server.request('POST', '/api/users', { body: { email, password: 'correct horse battery' } });
    const confirmation = await server.smtp.waitForMailTo(email);
    await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(confirmation.links[0]!) } });

    const answered: number[] = [];
    const arrived: number[] = [];
    for (let i = 0; i < runs + 5; i++) {
      const already = server.smtp.to(email).length;
      const start = performance.now();
      const response = await server.request('POST', '/api/reset-password-request', { body: { email } });
      const answer = performance.now() - start;
      if (response.status !== 202) throw new Error(`unexpected ${response.status}`);
      await server.smtp.waitForMailTo(email, already);
      const arrival = performance.now() - start;
      if (i >= 5) { answered.push(answer); arrived.push(arrival); } // the first five warm up
    }
    const fmt = (v: number) => `${v.toFixed(1)} ms`;
    console.log(`${kind.padEnd(8)} answer p50 ${fmt(quantile(answered, 0.5))} p95 ${fmt(quantile(answered, 0.95))} | request→arrival p50 ${fmt(quantile(arrived, 0.5))} p95 ${fmt(quantile(arrived, 0.95))} (${runs} runs)`);
  } finally {
    await server.stop();
  }
}

await onEachDatabase(measure);
