// Proving that a mail did NOT come without sleeping: push a mail we do expect
// through the same outbox after the request under test, and once it has
// arrived, anything the earlier request queued has arrived too.
import assert from 'node:assert/strict';
import type { TestServer } from './latchkey.ts';
import { strongPassword, uniqueEmail } from './accounts.ts';

const barrierAddresses = new WeakMap<TestServer, string>();

/**
 * Returns once every mail queued before the call has been delivered. The
 * worker sends a claimed batch in parallel, so one barrier mail could overtake
 * an earlier mail of its own batch; the second barrier is only claimed after
 * that batch has settled.
 */
export async function mailBarrier(server: TestServer): Promise<void> {
  let address = barrierAddresses.get(server);
  if (address === undefined) {
    address = uniqueEmail('barrier');
    const before = server.smtp.to(address).length;
    const response = await server.request('POST', '/api/users', { body: { email: address, password: strongPassword() } });
    assert.equal(response.status, 202, `barrier sign-up: ${response.text}`);
    await server.smtp.waitForMailTo(address, before);
    barrierAddresses.set(server, address);
  }
  for (let round = 0; round < 2; round += 1) {
    const before = server.smtp.to(address).length;
    const response = await server.request('POST', '/api/resend-confirm', { body: { email: address } });
    assert.equal(response.status, 202, `barrier resend: ${response.text}`);
    await server.smtp.waitForMailTo(address, before);
  }
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
