// API.md, Configuration: MAIL_PORT left unset is 25, 587 with MAIL_USE_TLS
// (STARTTLS) and 465 with MAIL_USE_SSL (implicit TLS); MAIL_SENDER left unset
// is "APP_NAME" <no-reply@BASE_URL's host>. Checked as a real SMTP server
// receives it: a sink on the standard port (on a loopback address of this run
// alone, so nothing else on the machine is in the way), and the From header of
// the delivered message. Binding ports under 1024 needs root: elsewhere the
// test is skipped, saying so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { generate } from 'selfsigned';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { until } from './support/process.ts';
import { startServeProcess } from './support/serve-process.ts';

// A loopback address of its own (127.0.0.0/8 is all loopback on Linux), so two runs never meet on port 25.
const host = `127.${50 + (process.pid % 150)}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;

async function canBind(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
const lowPortsSkip = (await canBind(25)) && (await canBind(465)) && (await canBind(587)) ? false : `skipped: cannot listen on ${host}:25, 465 and 587 (needs root)`;

// A private CA and a certificate it signed for `host`, trusted through MAIL_CA_FILE.
const tlsDir = mkdtempSync(join(tmpdir(), 'latchkey-mail-defaults-'));
after(() => rmSync(tlsDir, { recursive: true, force: true }));
const ca = await generate([{ name: 'commonName', value: 'Latchkey Mail Defaults CA' }], {
  keyType: 'ec', algorithm: 'sha256',
  extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
});
const certificate = await generate([{ name: 'commonName', value: host }], {
  keyType: 'ec', algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert },
  extensions: [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames: [{ type: 7, ip: host }] }],
});
const caFile = join(tlsDir, 'ca.pem');
writeFileSync(caFile, ca.cert);

const cases: { label: string; port: number; env: Record<string, string>; sink: SMTPServerOptions }[] = [
  { label: 'no TLS: port 25', port: 25, env: {}, sink: {} },
  { label: 'MAIL_USE_TLS: port 587, upgraded with STARTTLS', port: 587, env: { MAIL_USE_TLS: 'true', MAIL_CA_FILE: caFile }, sink: { key: certificate.private, cert: certificate.cert, disabledCommands: [] } },
  { label: 'MAIL_USE_SSL: port 465, implicit TLS', port: 465, env: { MAIL_USE_SSL: 'true', MAIL_CA_FILE: caFile }, sink: { key: certificate.private, cert: certificate.cert, secure: true } },
];

type Received = { rcptTo: string[]; raw: string; secure: boolean };

/** A real SMTP server on `host`:`port` that keeps what it receives and whether the session was TLS. */
async function hostedSink(port: number, options: SMTPServerOptions): Promise<{ received: Received[]; stop(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    ...options,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'), secure: session.secure });
        callback();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { received, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('MAIL_PORT and MAIL_SENDER defaults, as a real SMTP server receives them', { skip: lowPortsSkip }, () => {
  for (const { label, port, env, sink: sinkOptions } of cases) {
    test(`MAIL_PORT unset, ${label}; From is "APP_NAME" <no-reply@BASE_URL's host>`, { timeout: 60_000 }, async () => {
      const sink = await hostedSink(port, sinkOptions);
      const server = await startServeProcess('sqlite', { MAIL_SERVER: host, APP_NAME: 'Acme Accounts', RATE_LIMITS: 'off', ...env });
      try {
        const email = uniqueEmail('mail-defaults');
        assert.equal((await server.request('POST', '/api/users', { body: { email, password: strongPassword() } })).status, 202);
        const arrived = await until(`the mail at ${host}:${port}`, () => sink.received.find((m) => m.rcptTo.includes(email)), 20_000, 50);
        const parsed = await simpleParser(arrived.raw);
        const from = parsed.from?.value[0];
        assert.equal(from?.name, 'Acme Accounts');
        assert.equal(from?.address, 'no-reply@accounts.latchkey.test');
        assert.equal(arrived.secure, port !== 25, port === 25 ? 'plain SMTP on port 25' : 'the session was encrypted');
      } finally {
        await server.stop();
        await sink.stop();
      }
    });
  }
});
