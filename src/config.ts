// The one reader of process.env. Every variable of API.md's configuration
// section, typed and checked once at start-up; a bad value is a ConfigError
// whose message is the single line start-up prints.
import { existsSync } from 'node:fs';
import {
  boolean, integer, isLoopbackHttp, oneOf, parseBaseUrl, parseBrandColor, parseCookieDomain, parseDatabaseUrl, parseLogoUrl,
  parseManagement, parseOrigins, parseRedisUrl, parseSecretKey, parseSender, parseTemplatesDir, parseTrustProxy, parseWebhook, readCaFile,
} from './config-parse.ts';

export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string };

export type SmtpConfig = {
  host: string;
  port: number;
  startTls: boolean;
  implicitTls: boolean;
  username: string | undefined;
  password: string | undefined;
  /** PEM certificates to trust besides the system's, for a relay with a private CA. */
  ca: string | undefined;
};

export type Config = {
  port: number;
  host: string;
  baseUrl: URL;
  database: DatabaseConfig;
  /** undefined: the dev mailbox stands in for SMTP. */
  smtp: SmtpConfig | undefined;
  mailSender: string;
  appName: string;
  /** Origins allowed for CORS and confirm_url/reset_url; BASE_URL's origin is always first. */
  allowedOrigins: string[];
  resetTokenTtl: number;
  confirmTokenTtl: number;
  loginLinkTtl: number;
  inviteTokenTtl: number;
  /** Log-in links and codes (POST /api/login-links); PASSWORDLESS=off turns them off. */
  passwordless: boolean;
  /** Parent domain the session cookie is shared with; undefined: a host-only cookie. */
  cookieDomain: string | undefined;
  /** Where events are POSTed, and the Standard Webhooks signing key (the bytes after whsec_). */
  webhook: { url: string; secret: Buffer } | undefined;
  sessionTtl: number;
  sessionIdleTtl: number;
  passwordMinLength: number;
  redisUrl: string | undefined;
  /** Prefix of every key Latchkey writes to Redis, so instances of one deployment share counters and others do not. */
  redisKeyPrefix: string;
  /** false, a hop count, or the proxy addresses/CIDRs whose X-Forwarded-For is believed. Never "anyone". */
  trustProxy: false | number | string[];
  /**
   * SECRET_KEY as 32+ bytes: encrypts links waiting in the outbox. Always set
   * with PostgreSQL; with SQLite undefined means "the key file beside the
   * database" (src/security/secret-key.ts creates it once).
   */
  secretKey: Buffer | undefined;
  /** The operator listener (/metrics, detailed /health); undefined with MANAGEMENT_PORT=off. */
  management: { host: string; port: number } | undefined;
  /** Hashings that may wait for a thread; past it a request is answered 503 at once. */
  hashQueueMax: number;
  /** Sent and failed mail, spent or expired tokens and ended sessions older than this many days are deleted. */
  retentionDays: number;
  eventRetentionDays: number;
  logLevel: LogLevel;
  rateLimits: RateLimitConfig;
  /** A directory whose pages/ and mail/ files replace the built-in templates of the same name. */
  templatesDir: string | undefined;
  /** An absolute image URL shown at the top of every page and email. */
  logoUrl: string | undefined;
  /** #rrggbb (or #rgb) of buttons and links in pages and emails. */
  brandColor: string;
};

export type RateLimitConfig = {
  enabled: boolean;
  mailPerAddress: number;
  mailWindow: number;
  ipPerMinute: number;
  loginFailures: number;
  loginWindow: number;
  invalidTokens: number;
};

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(variable: string, expects: string) {
    // Never echo the value: DATABASE_URL and MAIL_PASSWORD may hold secrets.
    super(`${variable} must be ${expects}`);
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };

  const port = integer(read, 'PORT', 3000, 0, 65535);
  const appName = read('APP_NAME') ?? 'Latchkey';
  const baseUrl = parseBaseUrl(read('BASE_URL') ?? `http://localhost:${port}`);

  const smtpHost = read('MAIL_SERVER');
  const startTls = boolean(read, 'MAIL_USE_TLS', false);
  const implicitTls = boolean(read, 'MAIL_USE_SSL', false);
  if (startTls && implicitTls) {
    throw new ConfigError('MAIL_USE_TLS', 'off when MAIL_USE_SSL is on (STARTTLS and implicit TLS exclude each other)');
  }
  const mailPort = integer(read, 'MAIL_PORT', implicitTls ? 465 : startTls ? 587 : 25, 1, 65535);
  const smtp = smtpHost === undefined ? undefined : {
    host: smtpHost,
    port: mailPort,
    startTls,
    implicitTls,
    username: read('MAIL_USERNAME'),
    password: env.MAIL_PASSWORD === '' ? undefined : env.MAIL_PASSWORD,
    ca: readCaFile(read('MAIL_CA_FILE')),
  };

  // A dev mailbox shows every link to whoever opens it: only on a developer's own machine.
  if (smtp === undefined && !isLoopbackHttp(baseUrl)) {
    throw new ConfigError('MAIL_SERVER', 'set when BASE_URL is not an http:// URL on a loopback host (localhost, 127.0.0.0/8, [::1]): the dev mailbox would hand every link to anyone');
  }
  const database = parseDatabaseUrl(read('DATABASE_URL') ?? 'sqlite:data/latchkey.db');
  const secretKey = parseSecretKey(read('SECRET_KEY'));
  if (secretKey === undefined && database.kind === 'postgres') {
    throw new ConfigError('SECRET_KEY', 'set with PostgreSQL (at least 32 random bytes as hex or base64, the same on every instance)');
  }

  const rateLimits = read('RATE_LIMITS') ?? 'on';
  if (rateLimits !== 'on' && rateLimits !== 'off') throw new ConfigError('RATE_LIMITS', '"on" or "off"');

  return {
    port,
    host: read('HOST') ?? '127.0.0.1',
    baseUrl,
    database,
    smtp,
    mailSender: parseSender(read('MAIL_SENDER'), appName, baseUrl),
    appName,
    allowedOrigins: [baseUrl.origin, ...parseOrigins(read('ALLOWED_ORIGINS'))],
    resetTokenTtl: integer(read, 'RESET_TOKEN_TTL', 3600, 1),
    confirmTokenTtl: integer(read, 'CONFIRM_TOKEN_TTL', 86400, 1),
    loginLinkTtl: integer(read, 'LOGIN_LINK_TTL', 900, 1),
    inviteTokenTtl: integer(read, 'INVITE_TOKEN_TTL', 7 * 86400, 1),
    // API.md documents on and off; the other spellings of a boolean work too.
    passwordless: boolean(read, 'PASSWORDLESS', true, 'on or off'),
    cookieDomain: parseCookieDomain(read('COOKIE_DOMAIN'), baseUrl),
    webhook: parseWebhook(read),
    sessionTtl: integer(read, 'SESSION_TTL', 30 * 86400, 1),
    sessionIdleTtl: integer(read, 'SESSION_IDLE_TTL', 7 * 86400, 1),
    passwordMinLength: integer(read, 'PASSWORD_MIN_LENGTH', 8, 1, 128),
    redisUrl: parseRedisUrl(read('REDIS_URL')),
    redisKeyPrefix: read('REDIS_KEY_PREFIX') ?? 'latchkey:',
    trustProxy: parseTrustProxy(read('TRUST_PROXY')),
    secretKey,
    management: parseManagement(read),
    hashQueueMax: integer(read, 'HASH_QUEUE_MAX', 100, 1),
    retentionDays: integer(read, 'RETENTION_DAYS', 30, 1),
    eventRetentionDays: integer(read, 'EVENT_RETENTION_DAYS', 365, 1),
    logLevel: oneOf(read, 'LOG_LEVEL', logLevels, 'info'),
    templatesDir: parseTemplatesDir(read('TEMPLATES_DIR')),
    logoUrl: parseLogoUrl(read('LOGO_URL')),
    brandColor: parseBrandColor(read('BRAND_COLOR')),
    rateLimits: {
      enabled: rateLimits === 'on',
      mailPerAddress: integer(read, 'RATE_LIMIT_MAIL_PER_ADDRESS', 3, 1),
      mailWindow: integer(read, 'RATE_LIMIT_MAIL_WINDOW', 900, 1),
      ipPerMinute: integer(read, 'RATE_LIMIT_IP_PER_MINUTE', 20, 1),
      loginFailures: integer(read, 'RATE_LIMIT_LOGIN_FAILURES', 10, 1),
      loginWindow: integer(read, 'RATE_LIMIT_LOGIN_WINDOW', 900, 1),
      invalidTokens: integer(read, 'RATE_LIMIT_INVALID_TOKENS', 30, 1),
    },
  };
}

/** Loads `.env` from the working directory; variables already set win. */
export function loadEnvFile(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

