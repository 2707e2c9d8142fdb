// Property-based: fast-check generates hostile bodies for every JSON endpoint
// (wrong types, nulls, arrays, nested objects, huge and unicode strings,
// prototype keys, broken JSON) and sends them over real HTTP. Whatever comes
// in: never a 5xx, every error is problem+json, the server stays healthy, and
// no mail goes anywhere but to the address stored on an account. Rate limits
// are on, with limits too high to reach, so their hooks see every body too.
import assert from 'node:assert/strict';
import { domainToASCII } from 'node:url';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createAccount, logIn, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { skipUnlessPostgres } from './support/databases.ts';
import { startServer, testBaseUrl, type TestResponse, type TestServer } from './support/latchkey.ts';
import { mailBarrier } from './support/mail-barrier.ts';
import { selectRows } from './support/sql.ts';

const postgresSkip = await skipUnlessPostgres();
const unreachable = '1000000';
const appOrigin = 'https://app.example.test';

type Endpoint = { path: string; fields: string[]; session: boolean };
const endpoints: Endpoint[] = [
  { path: '/api/users', fields: ['email', 'password', 'name', 'confirm_url'], session: false },
  { path: '/api/confirm', fields: ['token'], session: false },
  { path: '/api/resend-confirm', fields: ['email', 'confirm_url'], session: false },
  { path: '/api/sessions', fields: ['email', 'password'], session: false },
  { path: '/api/reset-password-request', fields: ['email', 'reset_url'], session: false },
  { path: '/api/reset-password', fields: ['token', 'password'], session: false },
  { path: '/api/update-password', fields: ['current_password', 'new_password'], session: true },
  { path: '/api/update-email', fields: ['new_email', 'password'], session: true },
];

/** Values an attacker would put in `field`; `known` gives some of them a real account's address or password. */
function hostileValue(known: Account, field: string): fc.Arbitrary<unknown> {
  const lookAlike = fc.constantFrom('\u0131', '\u017F', '\u212A', '\uFF41', '\u0130', '\u00AD', '\u200B', '\r\n', '\u0000', '\uD800');
  const addressLike = fc.oneof(
    fc.emailAddress(),
    fc.constantFrom(known.email, known.email.toUpperCase(), ` ${known.email} `, 'victim@example.com'),
    fc.tuple(fc.constantFrom(known.email, 'kiks@kiosk.example'), fc.nat(30), lookAlike).map(([email, at, odd]) => {
      const i = at % email.length;
      return `${email.slice(0, i)}${odd}${email.slice(i + 1)}`;
    }),
  );
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom('', ' ', '{token}', `${testBaseUrl}/x?{token}`, `${appOrigin}/c`, 'https://evil.example/{token}', 'javascript:alert(1)', '__proto__', 'constructor'),
  );
  const huge = fc.tuple(fc.constantFrom('a', '\u00e9', '\u{1F511}', '\uFF21', '\u0000', '"'), fc.integer({ min: 500, max: 40_000 }))
    .map(([unit, count]) => unit.repeat(count));
  const wrongType = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.array(fc.oneof(fc.string(), fc.constant(known.email)), { maxLength: 4 }),
    fc.object({ maxDepth: 3 }),
    fc.jsonValue({ maxDepth: 4 }),
  );
  // Address fields get addresses more often, so that the paths past validation are walked too.
  return fc.oneof(
    { weight: 5, arbitrary: wrongType },
    { weight: 3, arbitrary: text },
    { weight: field.endsWith('email') ? 8 : 2, arbitrary: addressLike },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: fc.constant(known.password) },
  );
}

const prototypeKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__');

/** A JSON text written by hand, so that `__proto__` can be an own key and keys can repeat. */
function objectText(entries: [string, unknown][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`;
}

function bodyFor(endpoint: Endpoint, known: Account): fc.Arbitrary<string> {
  const value = (field: string) => hostileValue(known, field);
  const entry = (field: string) => value(field).map((v) => [field, v] as [string, unknown]);
  const protoEntry = fc.tuple(prototypeKeys, fc.oneof(value(''), fc.record(Object.fromEntries(endpoint.fields.map((f) => [f, value(f)])))));
  const shaped = fc.tuple(
    fc.subarray(endpoint.fields, { minLength: 1 }).chain((present) => fc.tuple(...present.map(entry))),
    // Extra entries: prototype keys, a field given twice, unknown keys.
    fc.array(fc.oneof(protoEntry, fc.constantFrom(...endpoint.fields).chain(entry), fc.tuple(fc.string({ maxLength: 12 }), value(''))), { maxLength: 3 }),
  ).map(([fields, extra]) => objectText([...fields, ...extra]));
  return fc.oneof(
    { weight: 12, arbitrary: shaped },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  );
}

/** What every answer must be, whatever was sent. */
function assertWellBehaved(response: TestResponse, sent: string): void {
  const context = `${response.status} ${response.text.slice(0, 300)} for ${sent.slice(0, 300)}`;
  assert.ok(response.status < 500, context);
  if (response.status >= 400) {
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json\b/, context);
    assert.equal(response.json?.status, response.status, context);
    assert.equal(typeof response.json?.code, 'string', context);
  } else {
    assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/, context);
  }
}

for (const [kind, runsPerEndpoint] of [['sqlite', 1250], ['postgres', 1250]] as const) {
  describe(`generated bodies on ${kind}`, { skip: kind === 'postgres' ? postgresSkip : false }, () => {
    let server: TestServer;
    let known: Account;
    let session: string;
    let sent = 0;
    const statuses = new Map<number, number>();

    before(async () => {
      server = await startServer(kind, {
        ALLOWED_ORIGINS: appOrigin,
        RATE_LIMITS: 'on',
        RATE_LIMIT_MAIL_PER_ADDRESS: unreachable,
        RATE_LIMIT_IP_PER_MINUTE: unreachable,
        RATE_LIMIT_LOGIN_FAILURES: unreachable,
        RATE_LIMIT_INVALID_TOKENS: unreachable,
      });
      known = await createAccount(server, { email: uniqueEmail('fuzz-known') });
      session = await logIn(server, known.email, known.password);
    });
    after(() => server?.stop());

    for (const endpoint of endpoints) {
      test(`${endpoint.path}: ${runsPerEndpoint} generated bodies, never a 5xx, every error problem+json`, async () => {
        await fc.assert(fc.asyncProperty(bodyFor(endpoint, known), async (body) => {
          const response = await server.request('POST', endpoint.path, endpoint.session ? { body, token: session } : { body });
          sent += 1;
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          assertWellBehaved(response, body);
        }), { numRuns: runsPerEndpoint });
      });
    }

    test('afterwards the server is healthy and still signs up and logs in', async (t) => {
      t.diagnostic(`${sent} generated bodies sent; answers by status: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
      assert.equal(sent, runsPerEndpoint * endpoints.length);
      assert.equal((await server.request('GET', '/api/health')).status, 200);
      const account = await createAccount(server, { password: strongPassword() });
      await logIn(server, account.email, account.password);
    });

    test('no mail went to an address other than the one stored on an account (or an email change\'s new address)', async () => {
      await mailBarrier(server);
      // Read with plain SQL: the product's own address parser and store must not judge their own output.
      const rows = await selectRows<{ kind: string; recipient: string }>(server.database, 'select kind, recipient from outbox');
      const accounts = new Set((await selectRows<{ email: string }>(server.database, 'select email from users')).map((user) => user.email));
      const newAddresses = new Set((await selectRows<{ new_email: string }>(server.database, 'select new_email from tokens where new_email is not null')).map((token) => token.new_email));
      assert.ok(rows.length > 0);
      for (const row of rows) {
        if (row.kind === 'email_change_confirm') assert.ok(newAddresses.has(row.recipient), `${row.kind} to ${JSON.stringify(row.recipient)}, which no email change asked for`);
        else assert.ok(accounts.has(row.recipient), `${row.kind} to ${JSON.stringify(row.recipient)}, not an address as stored on an account`);
      }
      // SMTP carries a Unicode domain in its ASCII form: compare envelopes in that form, local part exactly.
      const onTheWire = (address: string) => `${address.slice(0, address.lastIndexOf('@'))}@${domainToASCII(address.slice(address.lastIndexOf('@') + 1))}`;
      const recipients = new Set(rows.map((row) => onTheWire(row.recipient)));
      for (const rcpt of server.smtp.received.flatMap((mail) => mail.rcptTo)) {
        assert.ok(recipients.has(onTheWire(rcpt)), `${rcpt} was sent mail that no outbox row names`);
      }
    });
  });
}
