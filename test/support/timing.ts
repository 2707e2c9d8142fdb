// API.md's "about the same time": over 50 interleaved requests per case, the
// medians differ by less than 5 ms or 10%, whichever is larger. One
// measurement for test/timing.test.ts (which asserts it) and
// bench/timing-equality.ts (which prints it): `latchkey serve` in a process
// of its own, the SMTP sink in another (a sink in the server's event loop
// would deliver the known address's mail while the unknown one is timed),
// rate limits on but set out of reach, every answer's status checked (equal
// times of two identical errors prove nothing), the cases in a rotating order.
import { strongPassword, uniqueEmail, type Account } from './accounts.ts';
import type { DatabaseKind } from './databases.ts';
import { testBaseUrl, type TestResponse } from './latchkey.ts';
import { startServeProcess, type ServerProcess } from './serve-process.ts';
import { SmtpSinkProcess } from './smtp-sink-process.ts';
import { tokenFromLink } from './smtp-sink.ts';

/** Every limit on, none reachable by the requests of one measurement (all from 127.0.0.1, many to one address). */
export const limitsOutOfReach: Record<string, string> = {
  RATE_LIMITS: 'on',
  RATE_LIMIT_MAIL_PER_ADDRESS: '1000000000',
  RATE_LIMIT_IP_PER_MINUTE: '1000000000',
  RATE_LIMIT_LOGIN_FAILURES: '1000000000',
  RATE_LIMIT_INVALID_TOKENS: '1000000000',
};

export type TimingTarget = {
  server: ServerProcess;
  sink: SmtpSinkProcess;
  /** A confirmed account and one never confirmed. */
  confirmed: Account;
  pending: Account;
  stop(): Promise<void>;
};

/** One kind of request; `send` makes a fresh one (a fresh address where the case is "unknown" or "new"). */
export type TimedCase = { name: string; status: number; code?: string; send(target: TimingTarget): Promise<TestResponse> };
export type Comparison = { label: string; cases: TimedCase[] };

const post = (target: TimingTarget, path: string, body: unknown) => target.server.request('POST', path, { body });

/** The answers API.md says take about the same time, case by case, with the status each must have. */
export const comparisons: Comparison[] = [
  {
    label: 'log-in',
    cases: [
      { name: 'unknown address', status: 401, code: 'invalid_credentials', send: (t) => post(t, '/api/sessions', { email: uniqueEmail('nobody'), password: strongPassword() }) },
      { name: 'wrong password', status: 401, code: 'invalid_credentials', send: (t) => post(t, '/api/sessions', { email: t.confirmed.email, password: strongPassword() }) },
      { name: 'unconfirmed, wrong password', status: 401, code: 'invalid_credentials', send: (t) => post(t, '/api/sessions', { email: t.pending.email, password: strongPassword() }) },
    ],
  },
  {
    label: 'reset request',
    cases: [
      { name: 'known address', status: 202, send: (t) => post(t, '/api/reset-password-request', { email: t.confirmed.email }) },
      { name: 'unknown address', status: 202, send: (t) => post(t, '/api/reset-password-request', { email: uniqueEmail('nobody') }) },
    ],
  },
  {
    label: 'resend confirmation',
    cases: [
      { name: 'unconfirmed address', status: 202, send: (t) => post(t, '/api/resend-confirm', { email: t.pending.email }) },
      { name: 'unknown address', status: 202, send: (t) => post(t, '/api/resend-confirm', { email: uniqueEmail('nobody') }) },
    ],
  },
  {
    label: 'log-in link',
    cases: [
      { name: 'known address', status: 202, send: (t) => post(t, '/api/login-links', { email: t.confirmed.email }) },
      { name: 'unknown address', status: 202, send: (t) => post(t, '/api/login-links', { email: uniqueEmail('nobody') }) },
    ],
  },
  {
    label: 'sign-up',
    cases: [
      { name: 'new address', status: 202, send: (t) => post(t, '/api/users', { email: uniqueEmail('new'), password: strongPassword() }) },
      { name: 'existing address', status: 202, send: (t) => post(t, '/api/users', { email: t.confirmed.email, password: strongPassword() }) },
    ],
  },
];

async function signUp(server: ServerProcess, sink: SmtpSinkProcess, confirm: boolean): Promise<Account> {
  const account = { email: uniqueEmail('timed'), password: strongPassword() };
  const answer = await server.request('POST', '/api/users', { body: account });
  if (answer.status !== 202) throw new Error(`sign-up answered ${answer.status}: ${answer.text}`);
  if (confirm) {
    const mail = await sink.waitForMailTo(account.email);
    const links = mail.links.filter((link) => link.startsWith(`${testBaseUrl}/confirm?token=`));
    if (links.length !== 1) throw new Error(`expected one confirmation link in "${mail.subject}", found ${JSON.stringify(mail.links)}`);
    const token = tokenFromLink(links[0]!);
    const confirmed = await server.request('POST', '/api/confirm', { body: { token } });
    if (confirmed.status !== 200) throw new Error(`confirm answered ${confirmed.status}: ${confirmed.text}`);
  }
  return account;
}

/** The server and the sink, each in a process of its own, with a confirmed and an unconfirmed account. */
export async function startTimingTarget(kind: DatabaseKind): Promise<TimingTarget> {
  const sink = await SmtpSinkProcess.start();
  let server: ServerProcess | undefined;
  try {
    server = await startServeProcess(kind, { MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port), ...limitsOutOfReach });
    const confirmed = await signUp(server, sink, true);
    const pending = await signUp(server, sink, false);
    const running = server;
    return { server, sink, confirmed, pending, stop: async () => { await running.stop(); await sink.stop(); } };
  } catch (error) {
    await server?.stop();
    await sink.stop();
    throw error;
  }
}

export type CaseResult = { name: string; median: number; samples: number };
export type Measured = { label: string; results: CaseResult[]; difference: number; allowed: number; within: boolean };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Throws, naming the case and the round, when an answer is not the one the case must give. */
function check(label: string, timed: TimedCase, round: number, response: TestResponse): void {
  const code = (response.json as { code?: unknown } | undefined)?.code;
  if (response.status !== timed.status || (timed.code !== undefined && code !== timed.code)) {
    const expected = timed.code === undefined ? `${timed.status}` : `${timed.status} ${timed.code}`;
    throw new Error(`${label}, ${timed.name}, round ${round}: expected ${expected}, got ${response.status}: ${response.text.slice(0, 300)}`);
  }
}

/**
 * `warmup` rounds, then `rounds` timed ones; each round sends one request of
 * every case, one after the other, starting one case further on each round
 * (so no case always follows the same other, nor always comes first).
 */
export async function measure(target: TimingTarget, comparison: Comparison, rounds: number, warmup = 10): Promise<Measured> {
  const { label, cases } = comparison;
  const times = cases.map((): number[] => []);
  for (let round = -warmup; round < rounds; round += 1) {
    for (let step = 0; step < cases.length; step += 1) {
      const index = (((round + step) % cases.length) + cases.length) % cases.length;
      const timed = cases[index]!;
      const started = performance.now();
      const response = await timed.send(target);
      const elapsed = performance.now() - started;
      check(label, timed, round, response);
      if (round >= 0) times[index]!.push(elapsed);
    }
  }
  const results = cases.map((timed, i) => ({ name: timed.name, median: median(times[i]!), samples: times[i]!.length }));
  const medians = results.map((result) => result.median);
  const difference = Math.max(...medians) - Math.min(...medians);
  const allowed = Math.max(5, 0.1 * Math.max(...medians));
  return { label, results, difference, allowed, within: difference < allowed };
}

export function describeMeasured(measured: Measured): string {
  const cells = measured.results.map((result) => `${result.name} ${result.median.toFixed(2)} ms`).join(' | ');
  const samples = measured.results[0]?.samples ?? 0;
  return `${measured.label}: ${cells} (medians of ${samples}) | difference ${measured.difference.toFixed(2)} ms, allowed ${measured.allowed.toFixed(2)} ms ${measured.within ? 'ok' : 'OVER'}`;
}
