// Proving that a mail did NOT come without sleeping: after the request under
// test, push one mail we do expect through the same server, then wait until
// the outbox holds no message queued at or before it that is still pending.
// Every such message has then been delivered (the sink keeps a message before
// it answers 250, and the row says sent only after that) or has failed for
// good, so a mail the request wrongly queued is in the sink by then.
//
// Waiting for the barrier mail alone is not enough: the worker sends a
// claimed batch in parallel and claims again as soon as half its slots are
// free, so a barrier mail can overtake an earlier one that its SMTP server
// answers slowly (or that failed once and waits for its retry).
import { OutboxQueue } from '../../src/store/outbox-queue.ts';
import assert from 'node:assert/strict';
import type { TestServer } from './latchkey.ts';
import { strongPassword, uniqueEmail } from './accounts.ts';
import { until } from './process.ts';

const barrierAddresses = new WeakMap<TestServer, string>();

/** Returns once every mail queued before the call has been delivered (or has failed for good). */
export async function mailBarrier(server: TestServer): Promise<void> {
  let address = barrierAddresses.get(server);
  const first = address === undefined;
  address ??= uniqueEmail('barrier');
  const before = server.smtp.to(address).length;
  const response = first
    ? await server.request('POST', '/api/users', { body: { email: address, password: strongPassword() } })
    : await server.request('POST', '/api/resend-confirm', { body: { email: address } });
  assert.equal(response.status, 202, `barrier ${first ? 'sign-up' : 'resend'}: ${response.text}`);
  barrierAddresses.set(server, address);
  await server.smtp.waitForMailTo(address, before);
  const store = server.running.store;
  const barrier = (await new OutboxQueue(store).list()).filter((row) => row.recipient === address).at(-1);
  assert.ok(barrier !== undefined, 'the barrier mail has its outbox row');
  await until('every mail queued before the barrier delivered', async () => {
    const pending = await new OutboxQueue(store).list({ status: 'pending' });
    return pending.every((row) => Number(row.created_at) > Number(barrier.created_at));
  });
}

/** The address whose mail `mailBarrier` sends on this server, once it has run. */
export function barrierAddress(server: TestServer): string | undefined {
  return barrierAddresses.get(server);
}

/** Mail counts per address, to compare after a barrier. */
export function mailCounts(server: TestServer, addresses: string[]): number[] {
  return addresses.map((address) => server.smtp.to(address).length);
}

/** After a barrier: no new mail reached any of `addresses` since `counts` was taken. */
export async function assertNoNewMail(server: TestServer, addresses: string[], counts = addresses.map(() => 0)): Promise<void> {
  await mailBarrier(server);
  assert.deepEqual(mailCounts(server, addresses), counts, `no mail to ${addresses.join(', ')}`);
}
