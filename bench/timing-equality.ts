// API.md's "about the same time": for the answers that must not reveal an
// account, interleaved requests per case after a warm-up, the median of each
// and their difference, against the allowance (5 ms or 10% of the larger median).
// Rate limits are off, as API.md allows for benchmarks; RATE_LIMITS=on runs the
// same classes with every counter in place but set too high to be reached.
import { createAccount, strongPassword, uniqueEmail, type Account } from '../test/support/accounts.ts';
import { onEachDatabase, type DatabaseKind } from '../test/support/databases.ts';
import { startServer, type TestServer } from '../test/support/latchkey.ts';

const rounds = Number(process.env.ROUNDS ?? 200);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function compare(label: string, cases: Record<string, () => Promise<unknown>>): Promise<void> {
  const names = Object.keys(cases);
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = -10; round < rounds; round += 1) {
    for (const name of names) {
      const started = performance.now();
      await cases[name]!();
      if (round >= 0) times[name]!.push(performance.now() - started);
    }
  }
  const medians = names.map((name) => median(times[name]!));
  const spread = Math.max(...medians) - Math.min(...medians);
  const allowed = Math.max(5, 0.1 * Math.max(...medians));
  const cells = names.map((name, i) => `${name} ${medians[i]!.toFixed(2)} ms`).join(' | ');
  console.log(`  ${label.padEnd(22)} ${cells} | difference ${spread.toFixed(2)} ms, allowed ${allowed.toFixed(2)} ms ${spread < allowed ? 'ok' : 'OVER'}`);
}

async function measure(kind: DatabaseKind): Promise<void> {
  const limits: Record<string, string> = process.env.RATE_LIMITS === 'on'
    ? { RATE_LIMITS: 'on', RATE_LIMIT_MAIL_PER_ADDRESS: '1000000', RATE_LIMIT_IP_PER_MINUTE: '1000000', RATE_LIMIT_LOGIN_FAILURES: '1000000' }
    : {};
  const server: TestServer = await startServer(kind, limits);
  const post = (path: string, body: unknown) => server.request('POST', path, { body });
  try {
    const confirmed: Account = await createAccount(server);
    const pending: Account = await createAccount(server, { confirmed: false });
    console.log(`${kind} (${rounds} interleaved rounds per case, rate limits ${process.env.RATE_LIMITS === 'on' ? 'on' : 'off'})`);
    await compare('reset-password-request', {
      known: () => post('/api/reset-password-request', { email: confirmed.email }),
      unknown: () => post('/api/reset-password-request', { email: uniqueEmail('nobody') }),
    });
    await compare('resend-confirm', {
      unconfirmed: () => post('/api/resend-confirm', { email: pending.email }),
      confirmed: () => post('/api/resend-confirm', { email: confirmed.email }),
      unknown: () => post('/api/resend-confirm', { email: uniqueEmail('nobody') }),
    });
    await compare('sessions (log-in)', {
      'unknown email': () => post('/api/sessions', { email: uniqueEmail('nobody'), password: strongPassword() }),
      'wrong password': () => post('/api/sessions', { email: confirmed.email, password: strongPassword() }),
      unconfirmed: () => post('/api/sessions', { email: pending.email, password: strongPassword() }),
    });
    await compare('users (register)', {
      new: () => post('/api/users', { email: uniqueEmail('new'), password: strongPassword() }),
      existing: () => post('/api/users', { email: confirmed.email, password: strongPassword() }),
    });
  } finally {
    await server.stop();
  }
}

await onEachDatabase(measure);
