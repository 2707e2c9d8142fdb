// One reset request (and one log-in link request) at a time, end to end: from sending the request to the
// mail's arrival at a real SMTP server, on SQLite and (when reachable)
// PostgreSQL. Three processes, as in production: `latchkey serve` (rate limits
// on, as an operator runs it, with numbers out of reach of RUNS requests for
// one address), the SMTP server (bench/smtp-server.ts), and this client. The
// arrival is the end of DATA by the SMTP process's clock; the send is this
// process's clock (both performance.timeOrigin + performance.now(): one
// machine, one clock). Prints the answer time and the arrival time, median and
// p95 over the runs (the first five warm up), per flow.
//
//   RUNS=100 DATABASES=sqlite,postgres FLOWS=reset,login-link node --disable-warning=ExperimentalWarning bench/reset-to-arrival.ts
import { hashPassword } from '../src/security/password-hash.ts';
import { testSecretKey, type DatabaseKind } from '../test/support/databases.ts';
import { Latchkey, Smtp } from './load/processes.ts';
import { quantile } from './load/report.ts';
import { seededDatabase } from './load/scenarios.ts';
import { benchDatabases } from './load/seed.ts';

const runs = Number(process.env.RUNS ?? 100);
const limitsOutOfReach = { RATE_LIMITS: 'on', RATE_LIMIT_MAIL_PER_ADDRESS: '1000000000', RATE_LIMIT_IP_PER_MINUTE: '1000000000' };
const now = () => performance.timeOrigin + performance.now();

// The mail-sending requests measured: each mails the seeded account one link (and its code).
const flows = { reset: '/api/reset-password-request', 'login-link': '/api/login-links' } as const;
type Flow = keyof typeof flows;
const chosenFlows = (process.env.FLOWS ?? Object.keys(flows).join(',')).split(',').map((f) => f.trim()) as Flow[];
for (const flow of chosenFlows) if (!(flow in flows)) throw new Error(`FLOWS: unknown flow ${flow} (known: ${Object.keys(flows).join(', ')})`);

async function measure(kind: DatabaseKind, flow: Flow, smtp: Smtp, hash: string): Promise<void> {
  const database = await seededDatabase(kind, 1, hash);
  const server = await Latchkey.start({ databaseUrl: database.url, smtpPort: smtp.port, env: limitsOutOfReach }, testSecretKey);
  try {
    const body = JSON.stringify({ email: 'user1@example.com' });
    const answered: number[] = [];
    const arrived: number[] = [];
    let expected = await smtp.count();
    await smtp.arrivals(); // forget earlier arrivals
    for (let i = 0; i < runs + 5; i++) {
      const start = now();
      const response = await fetch(`${server.url}${flows[flow]}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await response.arrayBuffer();
      const answer = now() - start;
      if (response.status !== 202) throw new Error(`unexpected ${response.status}`);
      expected += 1;
      await smtp.reached(expected, 10_000);
      const arrivals = [...(await smtp.arrivals()).values()];
      if (arrivals.length !== 1) throw new Error(`expected one message, ${arrivals.length} arrived`);
      if (i >= 5) { answered.push(answer); arrived.push(arrivals[0]! - start); }
    }
    const fmt = (v: number | undefined) => `${v!.toFixed(1)} ms`;
    console.log(`${kind.padEnd(8)} ${flow.padEnd(10)} answer p50 ${fmt(quantile(answered, 0.5))} p95 ${fmt(quantile(answered, 0.95))} | request→arrival p50 ${fmt(quantile(arrived, 0.5))} p95 ${fmt(quantile(arrived, 0.95))} (${runs} runs)`);
  } finally {
    await server.stop();
    await database.drop();
  }
}

const smtp = await new Smtp().ready();
try {
  const hash = await hashPassword('correct horse battery staple');
  for (const kind of (await benchDatabases()).kinds) for (const flow of chosenFlows) await measure(kind, flow, smtp, hash);
} finally {
  smtp.stop();
}
