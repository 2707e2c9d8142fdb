// test/support/mail-barrier.ts is what some forty "no mail was sent"
// assertions lean on, so it is pinned itself: it must not return while a mail
// queued before it is still on its way, whatever order the worker and the
// SMTP server deliver in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { startServer } from './support/latchkey.ts';
import { assertNoNewMail, mailBarrier } from './support/mail-barrier.ts';
import { sleep } from './support/process.ts';
import type { Verdict } from './support/smtp-sink.ts';

test('the mail barrier waits for a mail queued before it that the SMTP server is slow to take', { timeout: 30_000 }, async () => {
  const slow = uniqueEmail('slow');
  // The SMTP server takes 1.5 s to answer this one address: the worker claims
  // the barrier's mail while it is in flight and delivers it first.
  const server = await startServer('sqlite', {}, {
    smtp: { decide: async (arrival): Promise<Verdict> => { if (arrival.rcptTo.includes(slow)) await sleep(1500); return 'accept'; } },
  });
  try {
    const response = await server.request('POST', '/api/users', { body: { email: slow, password: strongPassword() } });
    assert.equal(response.status, 202, response.text);
    await mailBarrier(server);
    assert.equal(server.smtp.to(slow).length, 1, 'the slow mail arrived before the barrier returned');
    // And so the assertion built on it sees the mail it must not miss.
    await assert.rejects(assertNoNewMail(server, [slow], [0]), /no mail to/);
  } finally {
    await server.stop();
  }
});
