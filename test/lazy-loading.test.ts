// What `serve` does not load until a flow needs it (BENCHMARKS.md "Memory"):
// ioredis without REDIS_URL, the common-password list until a password is
// checked, Nodemailer until the first message goes out. Each is MBs of heap
// a server at rest, or answering log-ins, would otherwise hold.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testSecretKey } from './support/databases.ts';
import { until } from './support/process.ts';
import { startServe } from './support/serve-process.ts';
import { SmtpSink } from './support/smtp-sink.ts';

const hook = fileURLToPath(new URL('./support/loaded-modules.mjs', import.meta.url));
const lazy = { ioredis: '/node_modules/ioredis/', nodemailer: '/node_modules/nodemailer/', 'password list': '/node_modules/@zxcvbn-ts/language-common/' };

test('serve loads ioredis, Nodemailer and the password list only when used', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-lazy-'));
  const record = join(dir, 'loaded.txt');
  writeFileSync(record, '');
  const loaded = (name: keyof typeof lazy) => readFileSync(record, 'utf8').includes(lazy[name]);
  const sink = await new SmtpSink().start();
  const serve = startServe({
    NODE_OPTIONS: `--import ${hook}`, LOADED_MODULES_FILE: record, LOG_LEVEL: 'info', SECRET_KEY: testSecretKey,
    MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port), BASE_URL: 'http://localhost:3000',
  });
  try {
    const address = await serve.listening;
    const health = await fetch(`${address}/api/health`);
    assert.equal(health.status, 200);
    assert.ok(readFileSync(record, 'utf8').includes('/node_modules/fastify/'), 'the hook sees what serve loads');
    for (const name of Object.keys(lazy) as (keyof typeof lazy)[]) assert.equal(loaded(name), false, `${name} is not loaded at start`);

    // A sign-up checks the password against the list and sends a confirmation.
    const signUp = await fetch(`${address}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'new@example.com', password: 'a long enough password 7' }) });
    assert.equal(signUp.status, 202);
    await until('the confirmation arrives', () => sink.received.length === 1, 20_000);
    assert.equal(loaded('password list'), true, 'the password list, once a password is checked');
    assert.equal(loaded('nodemailer'), true, 'Nodemailer, once a message is sent');
    assert.equal(loaded('ioredis'), false, 'no REDIS_URL: never');
  } finally {
    await serve.stop();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
