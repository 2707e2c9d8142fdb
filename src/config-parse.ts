// The value parsers behind src/config.ts: each reads one variable (or a few
// that belong together) and throws a ConfigError naming it on a bad value.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { ConfigError, type Config, type DatabaseConfig } from './config.ts';

export type Read = (name: string) => string | undefined;

export function integer(read: Read, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(name);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(name, `a whole number ${range}`);
  }
  return value;
}

export function boolean(read: Read, name: string, fallback: boolean, expects = 'true or false'): boolean {
  const raw = read(name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, expects);
}

export function oneOf<T extends string>(read: Read, name: string, values: readonly T[], fallback: T): T {
  const raw = read(name);
  if (raw === undefined) return fallback;
  const found = values.find((v) => v === raw.toLowerCase());
  if (found === undefined) throw new ConfigError(name, `one of ${values.join(', ')}`);
  return found;
}

export function parseBaseUrl(raw: string): URL {
  const url = URL.parse(raw);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new ConfigError('BASE_URL', 'an absolute http(s) URL without query or fragment, like https://accounts.example.com');
  }
  // Links are built by appending paths, so keep no trailing slash.
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

export function parseDatabaseUrl(raw: string): DatabaseConfig {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path !== '') return { kind: 'sqlite', path };
  } else if (/^postgres(ql)?:\/\//.test(raw) && URL.canParse(raw)) {
    return { kind: 'postgres', url: raw };
  }
  throw new ConfigError('DATABASE_URL', 'sqlite:PATH (e.g. sqlite:data/latchkey.db) or postgres://user:password@host:port/database');
}

export function parseOrigins(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map((entry) => {
    const url = URL.parse(entry);
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/$/, '')) {
      throw new ConfigError('ALLOWED_ORIGINS', 'a comma-separated list of origins like https://app.example.com (scheme, host and port only)');
    }
    return url.origin;
  });
}

export function parseSender(raw: string | undefined, appName: string, baseUrl: URL): string {
  if (raw === undefined) return `"${appName.replace(/["\\\r\n]/g, '')}" <no-reply@${baseUrl.hostname}>`;
  // A header value: CR/LF would let it add headers of its own.
  if (/[\r\n]/.test(raw) || !/@/.test(raw)) throw new ConfigError('MAIL_SENDER', 'an address like "Example <no-reply@example.com>"');
  return raw;
}

export function parseRedisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^rediss?:\/\//.test(raw) || !URL.canParse(raw)) throw new ConfigError('REDIS_URL', 'a URL like redis://127.0.0.1:6379');
  return raw;
}

export function parseTrustProxy(raw: string | undefined): false | number | string[] {
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
export function parseSecretKey(raw: string | undefined): Buffer | undefined {
  if (raw === undefined) return undefined;
  const key = /^(?:[0-9a-f]{2})+$/i.test(raw) ? Buffer.from(raw, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64') : Buffer.alloc(0);
  if (key.length < 32) throw new ConfigError('SECRET_KEY', 'at least 32 random bytes written as hex or base64 (e.g. the output of `openssl rand -hex 32`)');
  return key;
}

export function parseManagement(read: Read): Config['management'] {
  if (read('MANAGEMENT_PORT')?.toLowerCase() === 'off') return undefined;
  return { host: read('MANAGEMENT_HOST') ?? '127.0.0.1', port: integer(read, 'MANAGEMENT_PORT', 9464, 0, 65535) };
}

/** http:// on localhost, 127.0.0.0/8 or [::1]: a URL only this machine can open. */
export function isLoopbackHttp(url: URL): boolean {
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || (isIP(host) === 4 && host.startsWith('127.'));
}

export function readCaFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    const pem = readFileSync(path, 'utf8');
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return pem;
  } catch { /* reported below */ }
  throw new ConfigError('MAIL_CA_FILE', 'the path of a readable PEM file of CA certificates');
}

export function parseTemplatesDir(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new ConfigError('TEMPLATES_DIR', 'an existing directory (holding pages/ and mail/ overrides)');
  return path;
}

export function parseLogoUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // Absolute, because mail clients cannot resolve a path; http(s) only, so no javascript: or data: reaches an <img>.
  const url = URL.parse(raw);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new ConfigError('LOGO_URL', 'an absolute http(s) URL of an image');
  return url.href;
}

export function parseBrandColor(raw: string | undefined): string {
  if (raw === undefined) return '#2563eb';
  // Written into CSS and style attributes: a strict shape leaves no room for anything but a colour.
  if (!/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(raw)) throw new ConfigError('BRAND_COLOR', 'a hex colour like #2563eb');
  return raw.toLowerCase();
}

/** A parent domain of BASE_URL's host (or the host itself): the session cookie's Domain. */
export function parseCookieDomain(raw: string | undefined, baseUrl: URL): string | undefined {
  if (raw === undefined) return undefined;
  const domain = raw.toLowerCase().replace(/^\./, '');
  const host = baseUrl.hostname.toLowerCase();
  // An address has no parent domain: 127.0.0.1 is not under 0.0.1.
  const valid = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain) && isIP(domain) === 0 && isIP(host) === 0 && (host === domain || host.endsWith(`.${domain}`));
  if (!valid) throw new ConfigError('COOKIE_DOMAIN', `a parent domain of BASE_URL's host ${host} (like example.com for accounts.example.com)`);
  return domain;
}

/** WEBHOOK_URL and WEBHOOK_SECRET together, or neither. */
export function parseWebhook(read: Read): Config['webhook'] {
  const url = read('WEBHOOK_URL');
  const secret = read('WEBHOOK_SECRET');
  if (url === undefined && secret === undefined) return undefined;
  const parsed = url === undefined ? null : URL.parse(url);
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError('WEBHOOK_URL', 'an absolute http(s) URL of the receiver (set together with WEBHOOK_SECRET)');
  }
  // Standard Webhooks: "whsec_" then the base64 of the key's bytes.
  const key = secret?.startsWith('whsec_') === true && /^[A-Za-z0-9+/]+={0,2}$/.test(secret.slice(6)) ? Buffer.from(secret.slice(6), 'base64') : Buffer.alloc(0);
  if (key.length < 24 || key.length > 64) throw new ConfigError('WEBHOOK_SECRET', 'whsec_ followed by 24 to 64 random bytes in base64 (e.g. whsec_$(openssl rand -base64 32)), set together with WEBHOOK_URL');
  return { url: parsed.href, secret: key };
}
