// loadConfig against API.md's Configuration section: every documented default,
// and a ConfigError that names the variable (and never echoes a secret) for
// each bad value.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { lookAlikeVariables } from '../src/config-names.ts';

const secretKey = '5eed'.repeat(16);

/** Asserts that loading `env` fails with a ConfigError whose message names `variable`. */
function assertRefused(env: Record<string, string>, variable: string): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(caught)}`);
  assert.match(caught.message, new RegExp(`\\b${variable}\\b`), `the message names ${variable}`);
  // "one line naming the variable and what it expects"
  assert.ok(!caught.message.includes('\n'), 'the message is a single line');
  assert.ok(caught.message.length > variable.length + 5, 'the message says what the variable expects');
  return caught;
}

describe('loadConfig defaults', () => {
  const config = loadConfig({});

  test('PORT defaults to 3000', () => {
    assert.equal(config.port, 3000);
  });

  test('HOST defaults to 127.0.0.1', () => {
    assert.equal(config.host, '127.0.0.1');
  });

  test('BASE_URL defaults to http://localhost:3000', () => {
    assert.equal(config.baseUrl.origin, 'http://localhost:3000');
    assert.equal(config.baseUrl.pathname, '/');
  });

  test('BASE_URL defaults to http://localhost:PORT when only PORT is set', () => {
    const custom = loadConfig({ PORT: '8123' });
    assert.equal(custom.port, 8123);
    assert.equal(custom.baseUrl.origin, 'http://localhost:8123');
  });

  test('DATABASE_URL defaults to the SQLite file data/latchkey.db', () => {
    assert.deepEqual(config.database, { kind: 'sqlite', path: 'data/latchkey.db' });
  });

  test('no MAIL_SERVER means the dev mailbox (no SMTP configuration)', () => {
    assert.equal(config.smtp, undefined);
  });

  test('RESET_TOKEN_TTL defaults to 3600 seconds', () => {
    assert.equal(config.resetTokenTtl, 3600);
  });

  test('CONFIRM_TOKEN_TTL defaults to 86400 seconds', () => {
    assert.equal(config.confirmTokenTtl, 86400);
  });

  test('SESSION_TTL defaults to 30 days', () => {
    assert.equal(config.sessionTtl, 30 * 24 * 3600);
  });

  test('SESSION_IDLE_TTL defaults to 7 days', () => {
    assert.equal(config.sessionIdleTtl, 7 * 24 * 3600);
  });

  test('PASSWORD_MIN_LENGTH defaults to 8', () => {
    assert.equal(config.passwordMinLength, 8);
  });

  test('rate limits are on by default', () => {
    assert.equal(config.rateLimits.enabled, true);
  });

  test('rate-limit numbers default to 3 per address / 900 s, 20 per IP a minute, 10 failures / 900 s, 30 invalid tokens', () => {
    assert.deepEqual(
      {
        mailPerAddress: config.rateLimits.mailPerAddress,
        mailWindow: config.rateLimits.mailWindow,
        ipPerMinute: config.rateLimits.ipPerMinute,
        loginFailures: config.rateLimits.loginFailures,
        loginWindow: config.rateLimits.loginWindow,
        invalidTokens: config.rateLimits.invalidTokens,
      },
      { mailPerAddress: 3, mailWindow: 900, ipPerMinute: 20, loginFailures: 10, loginWindow: 900, invalidTokens: 30 },
    );
  });

  test('the BASE_URL origin is always an allowed origin', () => {
    assert.deepEqual(config.allowedOrigins, ['http://localhost:3000']);
  });

  test('a proxy is not trusted by default', () => {
    assert.equal(config.trustProxy, false);
  });

  test('the management listener defaults to 127.0.0.1:9464; MANAGEMENT_PORT=off turns it off', () => {
    assert.deepEqual(config.management, { host: '127.0.0.1', port: 9464 });
    assert.equal(loadConfig({ MANAGEMENT_PORT: 'off' }).management, undefined);
    assert.deepEqual(loadConfig({ MANAGEMENT_HOST: '0.0.0.0', MANAGEMENT_PORT: '9000' }).management, { host: '0.0.0.0', port: 9000 });
  });

  test('HASH_QUEUE_MAX defaults to 100, RETENTION_DAYS to 30, EVENT_RETENTION_DAYS to 365', () => {
    assert.deepEqual([config.hashQueueMax, config.retentionDays, config.eventRetentionDays], [100, 30, 365]);
  });

  test('SECRET_KEY is unset by default with SQLite (a key file beside the database stands in)', () => {
    assert.equal(config.secretKey, undefined);
  });

  test('REDIS_URL is unset by default (in-process counters)', () => {
    assert.equal(config.redisUrl, undefined);
  });
});

describe('loadConfig with values set', () => {
  test('every TTL, length and rate-limit variable is read', () => {
    const config = loadConfig({
      RESET_TOKEN_TTL: '60',
      CONFIRM_TOKEN_TTL: '120',
      SESSION_TTL: '180',
      SESSION_IDLE_TTL: '90',
      PASSWORD_MIN_LENGTH: '15',
      RATE_LIMIT_MAIL_PER_ADDRESS: '4',
      RATE_LIMIT_MAIL_WINDOW: '5',
      RATE_LIMIT_IP_PER_MINUTE: '6',
      RATE_LIMIT_LOGIN_FAILURES: '7',
      RATE_LIMIT_LOGIN_WINDOW: '8',
      RATE_LIMIT_INVALID_TOKENS: '9',
    });
    assert.equal(config.resetTokenTtl, 60);
    assert.equal(config.confirmTokenTtl, 120);
    assert.equal(config.sessionTtl, 180);
    assert.equal(config.sessionIdleTtl, 90);
    assert.equal(config.passwordMinLength, 15);
    assert.deepEqual(config.rateLimits, {
      enabled: true, mailPerAddress: 4, mailWindow: 5, ipPerMinute: 6, loginFailures: 7, loginWindow: 8, invalidTokens: 9,
    });
  });

  test('RATE_LIMITS=off disables rate limiting', () => {
    assert.equal(loadConfig({ RATE_LIMITS: 'off' }).rateLimits.enabled, false);
  });

  test('DATABASE_URL postgres:// selects PostgreSQL with the URL unchanged', () => {
    const url = 'postgres://user:pw@db.example:5432/latchkey';
    assert.deepEqual(loadConfig({ DATABASE_URL: url, SECRET_KEY: secretKey }).database, { kind: 'postgres', url });
  });

  test('DATABASE_URL postgresql:// is accepted as PostgreSQL too', () => {
    assert.equal(loadConfig({ DATABASE_URL: 'postgresql://h/db', SECRET_KEY: secretKey }).database.kind, 'postgres');
  });

  test('DATABASE_URL sqlite: takes a relative or absolute path', () => {
    assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:var/x.db' }).database, { kind: 'sqlite', path: 'var/x.db' });
    assert.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:/srv/x.db' }).database, { kind: 'sqlite', path: '/srv/x.db' });
  });

  test('MAIL_SERVER turns on SMTP with MAIL_PORT, credentials and TLS mode', () => {
    const config = loadConfig({ MAIL_SERVER: 'smtp.example', MAIL_PORT: '2525', MAIL_USE_TLS: 'true', MAIL_USERNAME: 'me', MAIL_PASSWORD: 'pw' });
    assert.deepEqual(config.smtp, { host: 'smtp.example', port: 2525, startTls: true, implicitTls: false, username: 'me', password: 'pw', ca: undefined });
  });

  test('MAIL_CA_FILE adds the PEM certificates it names, and an unreadable or non-PEM file stops start-up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-ca-'));
    try {
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      writeFileSync(join(dir, 'ca.pem'), pem);
      writeFileSync(join(dir, 'not.pem'), 'hello');
      assert.equal(loadConfig({ MAIL_SERVER: 'smtp.example', MAIL_CA_FILE: join(dir, 'ca.pem') }).smtp?.ca, pem);
      assert.throws(() => loadConfig({ MAIL_SERVER: 'smtp.example', MAIL_CA_FILE: join(dir, 'not.pem') }), /MAIL_CA_FILE/);
      assert.throws(() => loadConfig({ MAIL_SERVER: 'smtp.example', MAIL_CA_FILE: join(dir, 'missing.pem') }), /MAIL_CA_FILE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('MAIL_USE_SSL alone selects implicit TLS', () => {
    const smtp = loadConfig({ MAIL_SERVER: 'smtp.example', MAIL_USE_SSL: 'on' }).smtp;
    assert.equal(smtp?.implicitTls, true);
    assert.equal(smtp?.startTls, false);
  });

  test('ALLOWED_ORIGINS is a comma-separated list added after the BASE_URL origin', () => {
    const config = loadConfig({ BASE_URL: 'https://accounts.example.com', MAIL_SERVER: 'smtp.example', ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    assert.deepEqual(config.allowedOrigins, ['https://accounts.example.com', 'https://app.example.com', 'http://localhost:5173']);
  });

  test('TRUST_PROXY accepts a hop count and a list of addresses or CIDR ranges', () => {
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1' }).trustProxy, ['10.0.0.0/8', '::1']);
  });
});

describe('loadConfig refuses a bad value with a ConfigError naming the variable', () => {
  test('TRUST_PROXY=true (believe anyone\'s X-Forwarded-For) is refused, in any spelling', () => {
    for (const value of ['true', 'TRUE', 'yes', 'on']) assertRefused({ TRUST_PROXY: value }, 'TRUST_PROXY');
  });

  test('a public BASE_URL without MAIL_SERVER is refused, naming MAIL_SERVER (the dev mailbox would hand out every link)', () => {
    for (const base of ['https://accounts.example.com', 'http://accounts.example.com', 'https://localhost:3000', 'http://10.0.0.5:3000', 'http://[2001:db8::1]/', 'http://localhost.example.com']) {
      assertRefused({ BASE_URL: base }, 'MAIL_SERVER');
    }
  });

  test('a loopback http BASE_URL without MAIL_SERVER is the dev mailbox; a public one with MAIL_SERVER is fine', () => {
    for (const base of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://127.1.2.3', 'http://[::1]:3000', 'http://app.localhost']) {
      assert.equal(loadConfig({ BASE_URL: base }).smtp, undefined, base);
    }
    assert.equal(loadConfig({ BASE_URL: 'https://accounts.example.com', MAIL_SERVER: 'smtp.example' }).smtp?.host, 'smtp.example');
  });

  test('PostgreSQL without SECRET_KEY is refused, naming SECRET_KEY', () => {
    assertRefused({ DATABASE_URL: 'postgres://h/db' }, 'SECRET_KEY');
  });

  test('a SECRET_KEY shorter than 32 bytes, or neither hex nor base64, is refused and not echoed', () => {
    for (const value of ['ab'.repeat(31), Buffer.alloc(31, 7).toString('base64'), 'not a key at all, though long enough to be one!']) {
      const error = assertRefused({ SECRET_KEY: value }, 'SECRET_KEY');
      assert.ok(!error.message.includes(value), error.message);
    }
  });

  test('SECRET_KEY is read as hex or base64', () => {
    assert.deepEqual(loadConfig({ SECRET_KEY: 'ab'.repeat(32) }).secretKey, Buffer.alloc(32, 0xab));
    assert.deepEqual(loadConfig({ SECRET_KEY: Buffer.alloc(48, 9).toString('base64') }).secretKey, Buffer.alloc(48, 9));
  });

  test('MANAGEMENT_PORT, HASH_QUEUE_MAX and the retention days refuse bad numbers', () => {
    assertRefused({ MANAGEMENT_PORT: '70000' }, 'MANAGEMENT_PORT');
    assertRefused({ HASH_QUEUE_MAX: '0' }, 'HASH_QUEUE_MAX');
    assertRefused({ RETENTION_DAYS: 'x' }, 'RETENTION_DAYS');
    assertRefused({ EVENT_RETENTION_DAYS: '-1' }, 'EVENT_RETENTION_DAYS');
  });

  test('DATABASE_URL with an unknown scheme (mysql://) is refused', () => {
    assertRefused({ DATABASE_URL: 'mysql://localhost/latchkey' }, 'DATABASE_URL');
  });

  test('DATABASE_URL sqlite: without a path is refused', () => {
    assertRefused({ DATABASE_URL: 'sqlite:' }, 'DATABASE_URL');
  });

  test('MAIL_PORT=abc is refused', () => {
    assertRefused({ MAIL_SERVER: 'smtp.example', MAIL_PORT: 'abc' }, 'MAIL_PORT');
  });

  test('MAIL_PORT=0 is refused', () => {
    assertRefused({ MAIL_SERVER: 'smtp.example', MAIL_PORT: '0' }, 'MAIL_PORT');
  });

  test('BASE_URL that is not a URL is refused', () => {
    assertRefused({ BASE_URL: 'not a url' }, 'BASE_URL');
  });

  test('BASE_URL without a scheme (localhost:3000) is refused', () => {
    assertRefused({ BASE_URL: 'localhost:3000' }, 'BASE_URL');
  });

  test('BASE_URL with a non-http scheme is refused', () => {
    assertRefused({ BASE_URL: 'ftp://accounts.example.com' }, 'BASE_URL');
  });

  test('MAIL_USE_TLS and MAIL_USE_SSL both on is refused', () => {
    const error = assertRefused({ MAIL_SERVER: 'smtp.example', MAIL_USE_TLS: 'true', MAIL_USE_SSL: 'true' }, 'MAIL_USE_TLS');
    assert.match(error.message, /MAIL_USE_SSL/);
  });

  test('MAIL_USE_TLS that is not a boolean is refused', () => {
    assertRefused({ MAIL_USE_TLS: 'maybe' }, 'MAIL_USE_TLS');
  });

  test('PORT=70000 is refused', () => {
    assertRefused({ PORT: '70000' }, 'PORT');
  });

  test('PORT that is negative or fractional is refused', () => {
    assertRefused({ PORT: '-1' }, 'PORT');
    assertRefused({ PORT: '3000.5' }, 'PORT');
  });

  test('LOG_LEVEL=loud is refused', () => {
    assertRefused({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
  });

  test('TRUST_PROXY=garbage is refused', () => {
    assertRefused({ TRUST_PROXY: 'garbage' }, 'TRUST_PROXY');
  });

  test('TRUST_PROXY with a CIDR prefix too long for IPv4 is refused', () => {
    assertRefused({ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY');
  });

  test('ALLOWED_ORIGINS=not-an-origin is refused', () => {
    assertRefused({ ALLOWED_ORIGINS: 'not-an-origin' }, 'ALLOWED_ORIGINS');
  });

  test('ALLOWED_ORIGINS entry with a path is refused (an origin is scheme, host and port only)', () => {
    assertRefused({ ALLOWED_ORIGINS: 'https://app.example.com/spa' }, 'ALLOWED_ORIGINS');
  });

  test('RATE_LIMITS other than on/off is refused', () => {
    assertRefused({ RATE_LIMITS: 'sometimes' }, 'RATE_LIMITS');
  });

  test('a zero TTL is refused', () => {
    assertRefused({ RESET_TOKEN_TTL: '0' }, 'RESET_TOKEN_TTL');
    assertRefused({ CONFIRM_TOKEN_TTL: '0' }, 'CONFIRM_TOKEN_TTL');
    assertRefused({ SESSION_TTL: '0' }, 'SESSION_TTL');
    assertRefused({ SESSION_IDLE_TTL: '0' }, 'SESSION_IDLE_TTL');
  });

  test('a TTL that is not a whole number is refused', () => {
    assertRefused({ SESSION_TTL: '7d' }, 'SESSION_TTL');
  });

  test('PASSWORD_MIN_LENGTH above the 128-character maximum is refused', () => {
    assertRefused({ PASSWORD_MIN_LENGTH: '129' }, 'PASSWORD_MIN_LENGTH');
  });

  test('a rate-limit number that is not a positive whole number is refused', () => {
    assertRefused({ RATE_LIMIT_MAIL_PER_ADDRESS: 'three' }, 'RATE_LIMIT_MAIL_PER_ADDRESS');
    assertRefused({ RATE_LIMIT_LOGIN_FAILURES: '0' }, 'RATE_LIMIT_LOGIN_FAILURES');
  });

  test('REDIS_URL that is not a redis:// URL is refused', () => {
    assertRefused({ REDIS_URL: 'http://cache.example:6379' }, 'REDIS_URL');
  });

  test('MAIL_SENDER with a line break (header injection) is refused', () => {
    assertRefused({ MAIL_SENDER: 'a@example.com\r\nBcc: victim@example.com' }, 'MAIL_SENDER');
  });
});

describe('a ConfigError never echoes a secret', () => {
  test('a bad DATABASE_URL mysql://user:s3cret@h/db does not put the password in the message', () => {
    const error = assertRefused({ DATABASE_URL: 'mysql://user:s3cret@h/db' }, 'DATABASE_URL');
    assert.ok(!error.message.includes('s3cret'), error.message);
  });

  test('an unparsable postgres DATABASE_URL does not put the password in the message', () => {
    const error = assertRefused({ DATABASE_URL: 'postgres://user:s3cret@h:notaport/db' }, 'DATABASE_URL');
    assert.ok(!error.message.includes('s3cret'), error.message);
  });

  test('a bad REDIS_URL does not put its password in the message', () => {
    const error = assertRefused({ REDIS_URL: 'memcache://:s3cret@cache.example' }, 'REDIS_URL');
    assert.ok(!error.message.includes('s3cret'), error.message);
  });
});

describe('variables that look like ours but are not', () => {
  test('MAIL_SEVRER, RATE_LIMIT_IP_PER_MINUT and a lower-case mail_server are named with the variable they resemble', () => {
    assert.deepEqual(lookAlikeVariables({ MAIL_SEVRER: 'smtp.example', RATE_LIMIT_IP_PER_MINUT: '5', mail_server: 'x', BASE_URL: 'http://localhost' }), [
      ['MAIL_SEVRER', 'MAIL_SERVER'],
      ['RATE_LIMIT_IP_PER_MINUT', 'RATE_LIMIT_IP_PER_MINUTE'],
      ['mail_server', 'MAIL_SERVER'],
    ]);
  });

  test('a shell\'s usual variables (HOME, TERM, LANG, HOSTNAME, MAIL) are not look-alikes', () => {
    assert.deepEqual(lookAlikeVariables({ HOME: '/root', TERM: 'xterm', LANG: 'C', HOSTNAME: 'h', MAIL: '/var/mail/root', USER: 'root', PATH: '/bin', PWD: '/', SHELL: '/bin/sh', LOGNAME: 'root' }), []);
  });
});

describe('v2 variables: log-in links, invitations, cookie domain, webhooks', () => {
  test('defaults: 900 s log-in links, 7-day invitations, passwordless on, no cookie domain, no webhook', () => {
    const config = loadConfig({});
    assert.equal(config.loginLinkTtl, 900);
    assert.equal(config.inviteTokenTtl, 604800);
    assert.equal(config.passwordless, true);
    assert.equal(config.cookieDomain, undefined);
    assert.equal(config.webhook, undefined);
  });

  test('PASSWORDLESS=off turns log-in links off', () => {
    assert.equal(loadConfig({ PASSWORDLESS: 'off' }).passwordless, false);
    // The refusal names the values API.md documents.
    assert.throws(() => loadConfig({ PASSWORDLESS: 'maybe' }), /PASSWORDLESS.*on or off/);
  });

  test('COOKIE_DOMAIN: a parent of BASE_URL\'s host, or refused', () => {
    assert.equal(loadConfig({ BASE_URL: 'http://accounts.example.com', MAIL_SERVER: 'smtp', COOKIE_DOMAIN: 'Example.com' }).cookieDomain, 'example.com');
    assert.throws(() => loadConfig({ BASE_URL: 'http://accounts.example.com', MAIL_SERVER: 'smtp', COOKIE_DOMAIN: 'other.com' }), /COOKIE_DOMAIN/);
    assert.throws(() => loadConfig({ BASE_URL: 'http://accounts.example.com', MAIL_SERVER: 'smtp', COOKIE_DOMAIN: 'ple.com' }), /COOKIE_DOMAIN/);
    // An IP address has no parent domain, however its last labels read.
    assert.throws(() => loadConfig({ BASE_URL: 'http://127.0.0.1:3000', COOKIE_DOMAIN: '0.0.1' }), /COOKIE_DOMAIN/);
  });

  test('WEBHOOK_URL and WEBHOOK_SECRET together, the secret as whsec_ base64', () => {
    const secret = Buffer.alloc(32, 7);
    const config = loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:9/hook', WEBHOOK_SECRET: `whsec_${secret.toString('base64')}` });
    assert.deepEqual(config.webhook, { url: 'http://127.0.0.1:9/hook', secret });
    assert.throws(() => loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:9/hook' }), /WEBHOOK_SECRET/);
    assert.throws(() => loadConfig({ WEBHOOK_SECRET: `whsec_${secret.toString('base64')}` }), /WEBHOOK_URL/);
    assert.throws(() => loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:9/hook', WEBHOOK_SECRET: 'not-a-secret' }), /WEBHOOK_SECRET/);
  });
});
