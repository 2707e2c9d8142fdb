// The one reader of process.env. Every variable of API.md's configuration
// section, typed and checked once at start-up; a bad value is a ConfigError
// whose message is the single line start-up prints.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';

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

function integer(read: (n: string) => string | undefined, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(name);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(name, `a whole number ${range}`);
  }
  return value;
}

function boolean(read: (n: string) => string | undefined, name: string, fallback: boolean): boolean {
  const raw = read(name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, 'true or false');
}

function oneOf<T extends string>(read: (n: string) => string | undefined, name: string, values: readonly T[], fallback: T): T {
  const raw = read(name);
  if (raw === undefined) return fallback;
  const found = values.find((v) => v === raw.toLowerCase());
  if (found === undefined) throw new ConfigError(name, `one of ${values.join(', ')}`);
  return found;
}

function parseBaseUrl(raw: string): URL {
  const url = URL.parse(raw);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new ConfigError('BASE_URL', 'an absolute http(s) URL without query or fragment, like https://accounts.example.com');
  }
  // Links are built by appending paths, so keep no trailing slash.
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

function parseDatabaseUrl(raw: string): DatabaseConfig {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path !== '') return { kind: 'sqlite', path };
  } else if (/^postgres(ql)?:\/\//.test(raw) && URL.canParse(raw)) {
    return { kind: 'postgres', url: raw };
  }
  throw new ConfigError('DATABASE_URL', 'sqlite:PATH (e.g. sqlite:data/latchkey.db) or postgres://user:password@host:port/database');
}

function parseOrigins(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map((entry) => {
    const url = URL.parse(entry);
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/$/, '')) {
      throw new ConfigError('ALLOWED_ORIGINS', 'a comma-separated list of origins like https://app.example.com (scheme, host and port only)');
    }
    return url.origin;
  });
}

function parseSender(raw: string | undefined, appName: string, baseUrl: URL): string {
  if (raw === undefined) return `"${appName.replace(/["\\\r\n]/g, '')}" <no-reply@${baseUrl.hostname}>`;
  // A header value: CR/LF would let it add headers of its own.
  if (/[\r\n]/.test(raw) || !/@/.test(raw)) throw new ConfigError('MAIL_SENDER', 'an address like "Example <no-reply@example.com>"');
  return raw;
}

function parseRedisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^rediss?:\/\//.test(raw) || !URL.canParse(raw)) throw new ConfigError('REDIS_URL', 'a URL like redis://127.0.0.1:6379');
  return raw;
}

function parseTrustProxy(raw: string | undefined): false | number | string[] {
  const expects = 'a hop count or a comma-separated list of proxy addresses or CIDR ranges ("true" would believe anyone\'s X-Forwarded-For)';
  if (raw === undefined || ['false', 'no', 'off', '0'].includes(raw.toLowerCase())) return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const valid = entries.every((entry) => {
    const [address = '', prefix] = entry.split('/');
    const version = isIP(address);
    return version !== 0 && (prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128)));
  });
  if (!valid || entries.length === 0) throw new ConfigError('TRUST_PROXY', expects);
  return entries;
}

/** 32 bytes or more, written as hex or base64 (either alphabet). */
function parseSecretKey(raw: string | undefined): Buffer | undefined {
  if (raw === undefined) return undefined;
  const key = /^(?:[0-9a-f]{2})+$/i.test(raw) ? Buffer.from(raw, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64') : Buffer.alloc(0);
  if (key.length < 32) throw new ConfigError('SECRET_KEY', 'at least 32 random bytes written as hex or base64 (e.g. the output of `openssl rand -hex 32`)');
  return key;
}

function parseManagement(read: (n: string) => string | undefined): Config['management'] {
  if (read('MANAGEMENT_PORT')?.toLowerCase() === 'off') return undefined;
  return { host: read('MANAGEMENT_HOST') ?? '127.0.0.1', port: integer(read, 'MANAGEMENT_PORT', 9464, 0, 65535) };
}

/** http:// on localhost, 127.0.0.0/8 or [::1]: a URL only this machine can open. */
function isLoopbackHttp(url: URL): boolean {
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || (isIP(host) === 4 && host.startsWith('127.'));
}

function readCaFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    const pem = readFileSync(path, 'utf8');
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return pem;
  } catch { /* reported below */ }
  throw new ConfigError('MAIL_CA_FILE', 'the path of a readable PEM file of CA certificates');
}

function parseTemplatesDir(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new ConfigError('TEMPLATES_DIR', 'an existing directory (holding pages/ and mail/ overrides)');
  return path;
}

function parseLogoUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // Absolute, because mail clients cannot resolve a path; http(s) only, so no javascript: or data: reaches an <img>.
  const url = URL.parse(raw);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new ConfigError('LOGO_URL', 'an absolute http(s) URL of an image');
  return url.href;
}

function parseBrandColor(raw: string | undefined): string {
  if (raw === undefined) return '#2563eb';
  // Written into CSS and style attributes: a strict shape leaves no room for anything but a colour.
  if (!/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(raw)) throw new ConfigError('BRAND_COLOR', 'a hex colour like #2563eb');
  return raw.toLowerCase();
}
