// Every variable of API.md's Configuration section, and the environment
// variables that look like one of them but are not: `MAIL_SEVRER=…` would
// otherwise start silently on the dev mailbox.

export const knownVariables = [
  'PORT', 'HOST', 'BASE_URL', 'DATABASE_URL',
  'MAIL_SERVER', 'MAIL_PORT', 'MAIL_USE_TLS', 'MAIL_USE_SSL', 'MAIL_USERNAME', 'MAIL_PASSWORD', 'MAIL_SENDER', 'MAIL_CA_FILE',
  'APP_NAME', 'ALLOWED_ORIGINS',
  'RESET_TOKEN_TTL', 'CONFIRM_TOKEN_TTL', 'LOGIN_LINK_TTL', 'INVITE_TOKEN_TTL', 'SESSION_TTL', 'SESSION_IDLE_TTL',
  'PASSWORD_MIN_LENGTH', 'PASSWORDLESS', 'HASH_QUEUE_MAX', 'SECRET_KEY', 'COOKIE_DOMAIN',
  'REDIS_URL', 'REDIS_KEY_PREFIX', 'TRUST_PROXY', 'MANAGEMENT_HOST', 'MANAGEMENT_PORT',
  'WEBHOOK_URL', 'WEBHOOK_SECRET', 'RETENTION_DAYS', 'EVENT_RETENTION_DAYS',
  'TEMPLATES_DIR', 'LOGO_URL', 'BRAND_COLOR', 'LOG_LEVEL', 'RATE_LIMITS',
  'RATE_LIMIT_MAIL_PER_ADDRESS', 'RATE_LIMIT_MAIL_WINDOW', 'RATE_LIMIT_IP_PER_MINUTE',
  'RATE_LIMIT_LOGIN_FAILURES', 'RATE_LIMIT_LOGIN_WINDOW', 'RATE_LIMIT_INVALID_TOKENS',
] as const;

const known = new Set<string>(knownVariables);

/** `[typed, meant]` for each variable set in `env` that is one or two edits away from a known name. */
export function lookAlikeVariables(env: Record<string, string | undefined>): [string, string][] {
  const found: [string, string][] = [];
  for (const name of Object.keys(env)) {
    if (known.has(name) || name.length < 4) continue;
    // Short names take one edit only: HOME is two edits from HOST and is nobody's typo.
    const allowed = name.length < 8 ? 1 : 2;
    const meant = knownVariables.find((candidate) => editDistance(name.toUpperCase(), candidate) <= allowed);
    if (meant !== undefined) found.push([name, meant]);
  }
  return found;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost one each. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
