// Issue 5, hostile input, end to end with a real SMTP server: bodies too big
// to read, header injection, prototype keys, look-alike addresses, and
// Host-style headers that must never change a link.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OutboxQueue } from '../src/store/outbox-queue.ts';
import { createAccount, linkTo, logIn, requestReset, strongPassword, uniqueEmail, type Account } from './support/accounts.ts';
import { assertProblem, assertSentTo, assertValidation, headerBlock } from './support/assertions.ts';
import { eachDatabase } from './support/databases.ts';
import { startServer, testBaseUrl, type TestServer } from './support/latchkey.ts';
import { assertNoNewMail, barrierAddress, mailBarrier, mailCounts } from './support/mail-barrier.ts';
import { rawRequest } from './support/raw-request.ts';
import type { ReceivedMail } from './support/smtp-sink.ts';

/**
 * Sends up to `total` bytes of JSON whitespace, chunked, over a raw socket,
 * one 16 KB chunk at a time, reading while it writes: it stops writing at
 * the first byte of an answer and waits for the server to hang up. (A client
 * that keeps megabytes in flight gets the connection reset under the answer
 * and cannot tell a 413 from a crash.) `response` is everything the server
 * sent; `closed` whether it hung up within `closeWithinMs`.
 */
function chunkedUpload(base: string, path: string, total: number, closeWithinMs = 5000): Promise<{ status: number; response: string; written: number; closed: boolean }> {
  const url = new URL(path, base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let response = '';
    let written = 0;
    let closeTimer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(answerTimer);
      clearTimeout(closeTimer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1] ?? 0), response, written, closed });
    };
    // No answer at all within 30 s: status 0, and the test says so.
    const answerTimer = setTimeout(() => finish(false), 30_000);
    socket.on('data', (data: Buffer) => {
      if (response === '') closeTimer = setTimeout(() => finish(false), closeWithinMs);
      response += data.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const head = `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const opening = '{"email":"big@example.com"';
    socket.write(`${head}${opening.length.toString(16)}\r\n${opening}\r\n`);
    const pump = (): void => {
      if (response !== '' || socket.destroyed) return;
      if (written >= total) {
        socket.write('1\r\n}\r\n0\r\n\r\n');
        return;
      }
      written += chunk.length;
      socket.write(frame, () => setImmediate(pump));
    };
    pump();
  });
}

/** Every line of the header block is a header or its folded continuation, and none is one we injected. */
function assertCleanHeaders(mail: ReceivedMail): void {
  const lines = headerBlock(mail).split(/\r?\n/);
  for (const line of lines) assert.match(line, /^([A-Za-z0-9-]+: |[ \t])/, `a header line: ${JSON.stringify(line)}`);
  assert.doesNotMatch(headerBlock(mail), /^(bcc|x-injected|cc):/im);
  assert.doesNotMatch(headerBlock(mail), /victim@evil\.test|Injected/i);
}

eachDatabase((kind, skip) => {
  describe(`hostile input on ${kind}`, { skip }, () => {
    let server: TestServer;
    let known: Account;
    let session: string;

    before(async () => {
      server = await startServer(kind);
      known = await createAccount(server);
      session = await logIn(server, known.email, known.password);
    });
    after(() => server?.stop());

    describe('bodies', () => {
      test('a chunked 8 MB body is 413 after the server has read less than 1 MB of it', async () => {
        const sockets: Socket[] = [];
        const track = (socket: Socket): void => { sockets.push(socket); };
        server.running.app.server.on('connection', track);
        try {
          const total = 8 * 1024 * 1024;
          const upload = await chunkedUpload(server.url, '/api/resend-confirm', total);
          assert.equal(upload.status, 413, `the answer: ${JSON.stringify(upload.response.slice(0, 300))}`);
          assert.match(upload.response, /"code":"payload_too_large"/);
          assert.ok(upload.closed, 'the server hangs up after answering');
          assert.ok(upload.written < total, `the server answered before the client had sent it all (sent ${upload.written} bytes)`);
          const read = sockets.reduce((sum, socket) => sum + socket.bytesRead, 0);
          assert.ok(read < 1024 * 1024, `the server read ${read} bytes`);
        } finally {
          server.running.app.server.off('connection', track);
        }
      });

      test('a 1 MB password is 413 payload_too_large on every endpoint that takes a password', async () => {
        const huge = 'p'.repeat(1024 * 1024);
        const cases: [string, Record<string, string>, string?][] = [
          ['/api/users', { email: uniqueEmail('huge'), password: huge }],
          ['/api/sessions', { email: known.email, password: huge }],
          ['/api/reset-password', { token: 'x', password: huge }],
          ['/api/update-password', { current_password: known.password, new_password: huge }, session],
          ['/api/update-email', { new_email: uniqueEmail('huge'), password: huge }, session],
        ];
        for (const [path, body, token] of cases) {
          assertProblem(await server.request('POST', path, token === undefined ? { body } : { body, token }), 413, 'payload_too_large');
        }
      });

      test('a password of 129 code points, or of 60,000 characters within the body limit, is 422 and creates no account', async () => {
        for (const password of ['\u{1F511}'.repeat(129), 'Long-enough-'.repeat(5000)]) {
          const email = uniqueEmail('long');
          const response = await server.request('POST', '/api/users', { body: { email, password } });
          assert.match(assertValidation(response, ['password']).password!, /at most 128/);
          assertProblem(await server.request('POST', '/api/sessions', { body: { email, password: strongPassword() } }), 401, 'invalid_credentials');
          await assertNoNewMail(server, [email]);
        }
      });
    });

    describe('mail headers', () => {
      const injections = ['\r\nBcc: victim@evil.test\r\nX-Injected: yes', 'Eve\r\nBcc: victim@evil.test', '\nX-Injected: yes\n', 'Eve\rX-Injected: yes'];

      test('a name with CR or LF inside it is 422 naming the name, and sends nothing', async () => {
        for (const name of ['Eve\r\nBcc: victim@evil.test', 'Eve\rX-Injected: yes', 'Eve\nX-Injected: yes', 'Eve\tX']) {
          const email = uniqueEmail('crlf');
          assertValidation(await server.request('POST', '/api/users', { body: { email, password: strongPassword(), name } }), ['name']);
          await assertNoNewMail(server, [email, 'victim@evil.test']);
        }
      });

      test('CR/LF in any field of any mail-sending endpoint never reaches a header of the raw message', async () => {
        const pending = await createAccount(server, { confirmed: false });
        const before = server.smtp.received.length;
        // Who may be mailed: the two accounts, and the addresses these requests name with the injected characters taken out.
        const allowed = new Set([known.email, pending.email]);
        for (const injected of injections) {
          const [fresh, split, moved] = [uniqueEmail('crlf'), uniqueEmail('crlf'), uniqueEmail('crlf')];
          for (const address of [fresh, split, moved.replace('@', '@x.')]) allowed.add(address);
          const bodies: [string, Record<string, string>, string?][] = [
            ['/api/users', { email: `${fresh}${injected}`, password: strongPassword() }],
            // IDNA drops CR/LF from a domain: this one must not become an account whose mail goes to "…@exam".
            ['/api/users', { email: split.replace('@example', `@exam${injected.replace(/[^\r\n]/g, '')}ple`), password: strongPassword() }],
            ['/api/users', { email: pending.email, password: strongPassword(), name: `Pat${injected}` }],
            ['/api/users', { email: known.email, password: strongPassword(), confirm_url: `${testBaseUrl}/confirm${injected}` }],
            ['/api/resend-confirm', { email: `${pending.email}${injected}` }],
            ['/api/resend-confirm', { email: pending.email, confirm_url: `${testBaseUrl}/c?x=${injected}&t={token}` }],
            ['/api/reset-password-request', { email: `${known.email.replace('@', `${injected}@`)}` }],
            ['/api/reset-password-request', { email: known.email, reset_url: `${testBaseUrl}/r${injected}` }],
            ['/api/update-email', { new_email: moved.replace('@', `@x${injected}.`), password: known.password }, session],
          ];
          for (const [path, body, token] of bodies) {
            const response = await server.request('POST', path, token === undefined ? { body } : { body, token });
            assert.ok([202, 422].includes(response.status), `${path} ${JSON.stringify(body)}: ${response.status} ${response.text}`);
          }
        }
        await mailBarrier(server);
        const sent = server.smtp.received.slice(before);
        assert.ok(sent.length > 0, 'some of those requests did send mail');
        for (const mail of sent) assertCleanHeaders(mail);
        assert.deepEqual(server.smtp.to('victim@evil.test'), []);
        allowed.add(barrierAddress(server)!);
        for (const recipient of sent.flatMap((mail) => mail.rcptTo)) {
          assert.ok(allowed.has(recipient), `mail went to ${JSON.stringify(recipient)}, none of the addresses these requests name`);
        }
      });
    });

    describe('prototype keys', () => {
      test('__proto__ and constructor keys in a sign-up change nothing: the account is unconfirmed, unnamed, and mailed only at its address', async () => {
        const email = uniqueEmail('proto');
        const other = uniqueEmail('proto-other');
        const password = strongPassword();
        const body = `{"email":${JSON.stringify(email)},"password":${JSON.stringify(password)},`
          + `"__proto__":{"confirmed_at":1,"name":"Mallory","email":${JSON.stringify(other)},"confirmed":true},`
          + `"constructor":{"prototype":{"confirmed_at":1,"isAdmin":true}}}`;
        assert.equal((await server.request('POST', '/api/users', { body })).status, 202);
        const mail = await server.smtp.waitForMailTo(email);
        assert.doesNotMatch(mail.text, /Mallory/);
        assertProblem(await server.request('POST', '/api/sessions', { body: { email, password } }), 403, 'email_not_confirmed');
        await assertNoNewMail(server, [other]);
        const fresh = {} as Record<string, unknown>;
        assert.deepEqual([fresh.confirmed_at, fresh.isAdmin, fresh.name, fresh.email], [undefined, undefined, undefined, undefined], 'Object.prototype is untouched');
      });

      test('fields given only under __proto__ or constructor count as missing', async () => {
        const cases: [string, string, string[], string?][] = [
          ['/api/sessions', `{"__proto__":{"email":${JSON.stringify(known.email)},"password":${JSON.stringify(known.password)}}}`, ['email', 'password']],
          ['/api/reset-password-request', `{"constructor":{"prototype":{"email":${JSON.stringify(known.email)}}}}`, ['email']],
          ['/api/update-email', `{"__proto__":{"new_email":"x@example.com"},"password":${JSON.stringify(known.password)}}`, ['new_email'], session],
        ];
        const counts = mailCounts(server, [known.email]);
        for (const [path, body, missing, token] of cases) {
          assertValidation(await server.request('POST', path, token === undefined ? { body } : { body, token }), missing);
        }
        await assertNoNewMail(server, [known.email, 'x@example.com'], [...counts, 0]);
      });
    });

    describe('look-alike addresses', () => {
      // The victim's address has an i, an s and a k in both parts, each with a look-alike.
      let victim: Account;
      before(async () => {
        victim = await createAccount(server, { email: uniqueEmail('kiks', 'kiosk.example') });
      });

      const localLookAlikes = (email: string): Record<string, string> => {
        const [local, domain] = email.split('@') as [string, string];
        const fullWidth = [...local].map((c) => (/[a-z]/.test(c) ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c)).join('');
        return {
          'dotless ı': `${local.replace('i', '\u0131')}@${domain}`,
          'long ſ': `${local.replace('s', '\u017F')}@${domain}`,
          'Kelvin K': `${local.replace('k', '\u212A')}@${domain}`,
          'full-width': `${fullWidth}@${domain}`,
        };
      };

      test('a look-alike local part (ı, ſ, K, full-width) is 422 on every endpoint, matches no account and mails nobody', async () => {
        const counts = mailCounts(server, [victim.email]);
        for (const [label, lookAlike] of Object.entries(localLookAlikes(victim.email))) {
          assertValidation(await server.request('POST', '/api/users', { body: { email: lookAlike, password: strongPassword() } }), ['email']);
          assertValidation(await server.request('POST', '/api/resend-confirm', { body: { email: lookAlike } }), ['email']);
          assertValidation(await server.request('POST', '/api/reset-password-request', { body: { email: lookAlike } }), ['email']);
          assertValidation(await server.request('POST', '/api/update-email', { token: session, body: { new_email: lookAlike, password: known.password } }), ['new_email']);
          const logInAs = await server.request('POST', '/api/sessions', { body: { email: lookAlike, password: victim.password } });
          assertValidation(logInAs, ['email']);
          assert.equal(logInAs.json.token, undefined, `${label}: no session for the victim's password`);
        }
        await assertNoNewMail(server, [victim.email], counts);
      });

      test('a domain that IDNA maps to the victim\'s (K, ſ, full-width) is the victim\'s own address: its mail goes only to the address stored on the account', async () => {
        const [local] = victim.email.split('@') as [string];
        for (const domain of ['\u212Aiosk.example', 'kio\u017Fk.example', '\uFF4B\uFF49\uFF4F\uFF53\uFF4B.example']) {
          const typed = `${local}@${domain}`;
          const before = server.smtp.received.length;
          const already = server.smtp.to(victim.email).length;
          assert.equal((await server.request('POST', '/api/reset-password-request', { body: { email: typed } })).status, 202);
          const mail = await server.smtp.waitForMailTo(victim.email, already);
          assertSentTo(mail, victim.email);
          await mailBarrier(server);
          const newMail = server.smtp.received.slice(before).filter((m) => !m.rcptTo.some((r) => r.startsWith('barrier-')));
          assert.deepEqual(newMail.map((m) => m.rcptTo), [[victim.email]], `${domain}: one mail, to the stored address`);
        }
      });

      test('a domain with a dotless ı is another domain: an account there never receives the victim\'s mail, nor the victim its', async () => {
        const [local] = victim.email.split('@') as [string];
        const impostor = { email: `${local}@k\u0131osk.example`, password: strongPassword() };
        const counts = mailCounts(server, [victim.email]);
        assert.equal((await server.request('POST', '/api/users', { body: impostor })).status, 202);
        assert.equal((await server.request('POST', '/api/reset-password-request', { body: { email: impostor.email } })).status, 202);
        await assertNoNewMail(server, [victim.email], counts);
        const rows = await new OutboxQueue(server.running.store).list();
        assert.deepEqual(rows.filter((r) => r.recipient.includes('\u0131osk')).map((r) => r.recipient), [impostor.email, impostor.email], 'the impostor\'s confirmation and reset go to its own address');

        // And the victim's own reset still reaches the victim alone.
        await requestReset(server, victim.email);
        assertSentTo(server.smtp.to(victim.email).at(-1)!, victim.email);
        assertProblem(await server.request('POST', '/api/sessions', { body: { email: impostor.email, password: victim.password } }), 401, 'invalid_credentials');
      });
    });
  });
});

// API.md v2 refuses TRUST_PROXY=true: the proxy is trusted by naming it, here the test client's own address.
for (const trustProxy of ['false', '127.0.0.1']) {
  describe(`links with TRUST_PROXY=${trustProxy}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startServer('sqlite', { TRUST_PROXY: trustProxy });
    });
    after(() => server?.stop());

    const foreign = {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.9',
      forwarded: 'for=203.0.113.9;host=evil.example;proto=https',
    };

    const send = (path: string, body: unknown, token?: string) => rawRequest(server.url, 'POST', path, {
      body: JSON.stringify(body),
      headers: { ...foreign, 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    });

    test('Host, X-Forwarded-Host and Forwarded set to another site change no link of any mail', async () => {
      const email = uniqueEmail('host');
      const password = strongPassword();
      assert.equal((await send('/api/users', { email, password })).status, 202);
      const confirmMail = await server.smtp.waitForMailTo(email);
      const confirmLink = linkTo(confirmMail, '/confirm');
      assert.equal((await send('/api/resend-confirm', { email })).status, 202);
      const resent = await server.smtp.waitForMailTo(email, 1);
      linkTo(resent, '/confirm');
      assert.equal((await server.request('POST', '/api/confirm', { body: { token: new URL(confirmLink).searchParams.get('token') } })).status, 200);
      assert.equal((await send('/api/users', { email, password: strongPassword() })).status, 202);
      const exists = await server.smtp.waitForMailTo(email, 2);
      assert.ok(exists.links.length > 0 && exists.links.every((link) => link.startsWith(`${testBaseUrl}/`)), `account-exists links: ${exists.links.join(' ')}`);
      assert.equal((await send('/api/reset-password-request', { email })).status, 202);
      linkTo(await server.smtp.waitForMailTo(email, 3), '/reset-password');
      const session = await logIn(server, email, password);
      const newEmail = uniqueEmail('host-new');
      assert.equal((await send('/api/update-email', { new_email: newEmail, password }, session)).status, 202);
      linkTo(await server.smtp.waitForMailTo(newEmail), '/confirm-email');
      for (const mail of [...server.smtp.to(email), ...server.smtp.to(newEmail)]) {
        assert.doesNotMatch(mail.text + mail.html + mail.raw, /evil\.example/, mail.subject);
      }
    });
  });
}
