// API.md, Passwords: a password longer than 128 code points or shorter than
// PASSWORD_MIN_LENGTH is 422, "checked before any hashing". Measured without a
// clock: with HASH_QUEUE_MAX=1 and hashing kept saturated by a stream of
// log-ins, anything that reaches the hasher is refused 503 at once. A probe
// with a bad length is sent together with a control (the same request with a
// good password): where the control is 503, hashing was full at that moment,
// and the probe must still be the 422 that names the password.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, logIn, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertProblem } from './support/assertions.ts';
import { startServer, type TestResponse, type TestServer } from './support/latchkey.ts';

// 129 code points (258 UTF-16 units: counted in code points, not units) and 7 characters.
const tooLong = '\u{1F511}'.repeat(129);
const tooShort = 'Sh0rt!x';

describe('password length is checked before any hashing (HASH_QUEUE_MAX=1, hashing saturated)', () => {
  let server: TestServer;
  let account: Account & { session: string };
  before(async () => {
    server = await startServer('sqlite', { HASH_QUEUE_MAX: '1' });
    const created = await createAccount(server);
    account = { ...created, session: await logIn(server, created.email, created.password) };
  });
  after(() => server?.stop());

  /** Keeps hashing busy with log-ins until `work` is done; returns what `work` returned and how many log-ins were refused 503. */
  async function whileSaturated<T>(work: () => Promise<T>): Promise<{ result: T; refused: number }> {
    let done = false;
    let refused = 0;
    const flood = Array.from({ length: 16 }, async () => {
      while (!done) {
        const response = await server.request('POST', '/api/sessions', { body: { email: uniqueEmail('saturate'), password: strongPassword() } });
        if (response.status === 503) refused += 1;
        else assert.equal(response.status, 401, response.text);
      }
    });
    try {
      // Let the stream fill the queue before the probes go.
      while (refused === 0) await new Promise(setImmediate);
      return { result: await work(), refused };
    } finally {
      done = true;
      await Promise.all(flood);
    }
  }

  const probes: { label: string; field: string; request: (password: string) => Promise<TestResponse> }[] = [
    { label: 'sign-up', field: 'password', request: (password) => server.request('POST', '/api/users', { body: { email: uniqueEmail('length-probe'), password } }) },
    {
      label: 'update-password',
      field: 'new_password',
      request: (password) => server.request('POST', '/api/update-password', { token: account.session, body: { current_password: account.password, new_password: password } }),
    },
  ];

  for (const { label, field, request } of probes) {
    test(`${label}: a 129-code-point or 7-character ${field} is 422 while a good one in the same moment is 503`, { timeout: 60_000 }, async () => {
      const { result: rounds } = await whileSaturated(async () => {
        const answers: { control: TestResponse; long: TestResponse; short: TestResponse }[] = [];
        for (let i = 0; i < 10; i += 1) {
          const good = strongPassword();
          const [control, long, short] = await Promise.all([request(good), request(tooLong), request(tooShort)]);
          // A control that got through changed the password (update-password): the next round asks with the new one.
          if (label === 'update-password' && control.status === 200) account.password = good;
          answers.push({ control, long, short });
        }
        return answers;
      });
      const saturatedRounds = rounds.filter((round) => round.control.status === 503);
      assert.ok(saturatedRounds.length > 0, `hashing was full for at least one control (statuses: ${rounds.map((r) => r.control.status).join(', ')})`);
      for (const { long, short } of rounds) {
        for (const probe of [long, short]) {
          const body = assertProblem(probe, 422, 'validation_failed');
          assert.ok(typeof body.errors[field] === 'string', `errors names ${field}: ${probe.text}`);
        }
      }
    });
  }
});
