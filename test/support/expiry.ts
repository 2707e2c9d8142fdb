// Short lifetimes (a TTL of one second) without racing the clock. A test
// cannot assume that its round trips and a mail delivery fit inside the
// second; instead it reads when a token or session ends from its row and
// judges each answer by when it arrived:
//  - an answer received before the row's deadline was decided before it
//    (the server and the test share one clock), so it must be the "alive" one;
//  - a request sent after the deadline must get the "ended" one;
//  - an answer that arrived after the deadline, to a request sent before it,
//    proves nothing: the attempt is inconclusive and starts again.
import { OutboxQueue } from '../../src/store/outbox-queue.ts';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { linkTo, strongPassword, uniqueEmail, type Account } from './accounts.ts';
import type { TestResponse, TestServer } from './latchkey.ts';
import { sleep, until } from './process.ts';
import { tokenFromLink, type ReceivedMail } from './smtp-sink.ts';

/** How the database keys a token or session: SHA-256 of the token, base64url (API.md: only hashes are stored). */
function storedHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** When the emailed token `token` expires (ms since the epoch), from its row. */
export async function tokenExpiry(server: TestServer, token: string): Promise<number> {
  const row = await server.running.store.db.selectFrom('tokens').select('expires_at')
    .where('token_hash', '=', storedHash(token)).executeTakeFirst();
  assert.ok(row !== undefined, 'the token has a row');
  return Number(row.expires_at);
}

/** The session row of `token`: its absolute end and its last recorded use (ms since the epoch). */
export async function sessionTimes(server: TestServer, token: string): Promise<{ expiresAt: number; lastUsedAt: number }> {
  const row = await server.running.store.db.selectFrom('sessions').select(['expires_at', 'last_used_at'])
    .where('token_hash', '=', storedHash(token)).executeTakeFirst();
  assert.ok(row !== undefined, 'the session has a row');
  return { expiresAt: Number(row.expires_at), lastUsedAt: Number(row.last_used_at) };
}

/** Sends `request`; `inTime` says whether its answer arrived before `deadline`, so was decided before it. */
export async function answeredBefore<T>(deadline: number, request: () => Promise<T>): Promise<{ answer: T; inTime: boolean }> {
  const answer = await request();
  return { answer, inTime: Date.now() < deadline };
}

/** Waits until the clock is past `deadline`: anything sent afterwards reaches the server after it. */
export async function waitPast(deadline: number): Promise<void> {
  const left = deadline - Date.now();
  if (left >= 0) await sleep(left + 5);
}

/**
 * Runs `attempt` until it is conclusive (returns true). An attempt returns
 * false when its timing proved nothing (an answer arrived after the deadline
 * it was meant to beat); one that is conclusive asserts what it must.
 */
export async function conclusively(what: string, attempt: () => Promise<boolean>, attempts = 5): Promise<void> {
  for (let tried = 0; tried < attempts; tried += 1) {
    if (await attempt()) return;
  }
  assert.fail(`${what}: each of ${attempts} attempts was too slow to beat its deadline`);
}

/**
 * A confirmed account on a server whose confirm links live so briefly that
 * sign-up, delivery and confirmation may not fit: a confirmation answered
 * after its link's expiry is tried again with a fresh account; one answered
 * before it must succeed.
 */
export async function createAccountInTime(server: TestServer): Promise<Account> {
  let account: Account | undefined;
  await conclusively('a confirmed account', async () => {
    const candidate = { email: uniqueEmail(), password: strongPassword() };
    const mail = await mailInTime(server, candidate.email, () => server.request('POST', '/api/users', { body: candidate }));
    if (mail === undefined) return false;
    const token = tokenFromLink(linkTo(mail, '/confirm'));
    const { answer, inTime } = await answeredBefore(await tokenExpiry(server, token), () => server.request('POST', '/api/confirm', { body: { token } }));
    if (answer.status !== 200 && !inTime) return false;
    assert.equal(answer.status, 200, answer.text);
    account = candidate;
    return true;
  });
  return account!;
}

/**
 * The mail that `send` (expected to answer 202) has the server queue to
 * `address`; undefined when its link expired before it could be delivered
 * (the worker then ends the row `failed` instead of sending a dead link).
 */
export async function mailInTime(server: TestServer, address: string, send: () => Promise<TestResponse>): Promise<ReceivedMail | undefined> {
  const failedRows = async () => (await new OutboxQueue(server.running.store).list({ status: 'failed' })).filter((row) => row.recipient === address).length;
  const mailBefore = server.smtp.to(address).length;
  const failedBefore = await failedRows();
  const response = await send();
  assert.equal(response.status, 202, response.text);
  return until(`mail to ${address}, or its row failed`, async () => {
    const mail = server.smtp.to(address)[mailBefore];
    if (mail !== undefined) return { mail };
    return (await failedRows()) > failedBefore ? { mail: undefined } : undefined;
  }).then(({ mail }) => mail);
}
