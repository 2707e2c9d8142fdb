// API.md "Rate limits" at the HTTP edge: requests per endpoint and client,
// and invalid_token answers per client, each also capped per IPv6 /48. A
// route opts in through `config.limits`; counters are keyed by the
// endpoint's name, not its URL, so an HTML form that declares the same name
// shares its JSON endpoint's counts. A refusal is thrown as a
// RateLimitedError, so each scope answers it in its own form (problem+json,
// or an HTML page). What only a flow can know is counted by the flows
// (FlowDeps.limits, flows/flow-limits.ts): failed log-ins and wrong current
// passwords, and mail requests that passed validation.
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { RateLimitedError } from '../../errors.ts';
import type { Counter, RateLimits } from '../../security/rate-limits.ts';

export type RouteLimits = {
  /** The action's name, e.g. "reset-password-request": the key its counters share with its HTML form. */
  endpoint: string;
  /** Requests per client a minute (RATE_LIMIT_IP_PER_MINUTE). */
  perClient?: boolean;
  /** A token redemption: invalid_token answers per client, counted across every redeeming endpoint. */
  redeemsToken?: boolean;
};

/** Every rate-limited action of API.md. A JSON endpoint and its HTML form declare the same entry, and so share counts. */
export const endpointLimits = {
  signUp: { endpoint: 'sign-up', perClient: true },
  resendConfirm: { endpoint: 'resend-confirm', perClient: true },
  resetRequest: { endpoint: 'reset-password-request', perClient: true },
  updateEmail: { endpoint: 'update-email', perClient: true },
  updatePassword: { endpoint: 'update-password', perClient: true },
  logIn: { endpoint: 'log-in', perClient: true },
  deleteAccount: { endpoint: 'delete-account', perClient: true },
  confirm: { endpoint: 'confirm', redeemsToken: true },
  resetPassword: { endpoint: 'reset-password', redeemsToken: true },
} as const satisfies Record<string, RouteLimits>;

declare module 'fastify' {
  interface FastifyContextConfig {
    limits?: RouteLimits;
    /** An HTML form: its per-client count waits for the CSRF check (pages/plugin.ts calls limitFormClient). */
    form?: boolean;
  }
  interface FastifyInstance {
    /** Counts a form POST against its client, once its CSRF token has been checked: a forged form counts against nothing. */
    limitFormClient(request: FastifyRequest): Promise<void>;
  }
}

/** Guards the routes that declare limits with the per-client counters (the flows count the rest themselves). */
export function guardRateLimits(app: FastifyInstance, limits: RateLimits, config: Config): void {
  if (config.trustProxy === false) warnOfIgnoredForwardedFor(app);
  if (config.rateLimits.enabled) {
    guardRoutes(app, limits);
  } else {
    app.log.warn('RATE_LIMITS=off: every rate limit is disabled; use this for tests and benchmarks only');
    app.decorate('limitFormClient', async function noLimit() {});
  }
}

function guardRoutes(app: FastifyInstance, limits: RateLimits): void {
  // Redemptions counted and not yet known to be invalid: given back once the answer is anything else.
  const redemptions = new WeakSet<FastifyRequest>();
  const perClient = { one: limits.ipPerMinute, block: limits.ipPerMinutePerBlock };
  const invalidTokens = { one: limits.invalidTokens, block: limits.invalidTokensPerBlock };

  async function limitClient(request: FastifyRequest): Promise<void> {
    const route = request.routeOptions.config?.limits;
    if (route?.perClient === true) await takeForClient(perClient, route.endpoint, request.ip);
  }

  // Before the body is read, so a flood from one client costs no parsing. HTML
  // forms are counted later, once their CSRF token is known to be good.
  app.addHook('onRequest', async function limitPerClient(request) {
    if (request.routeOptions.config?.form !== true) await limitClient(request);
  });
  app.decorate('limitFormClient', limitClient);

  // After parsing and validation (and the CSRF check of a form).
  app.addHook('preHandler', async function limitRedemptions(request) {
    if (request.routeOptions.config?.limits?.redeemsToken !== true) return;
    await takeForClient(invalidTokens, 'redeem', request.ip);
    redemptions.add(request);
  });

  // A redemption that got this far and is answered 400 is an invalid token: the JSON
  // endpoints and the HTML forms both answer invalid_token so (malformed bodies are
  // refused before preHandler). onSend rather than onResponse: the count is settled
  // before the client can send its next request.
  app.addHook('onSend', async function giveBackRedemption(request, reply) {
    if (redemptions.delete(request) && reply.statusCode !== 400) await giveBackForClient(invalidTokens, 'redeem', request.ip);
  });
}

type ClientCounters = { one: Counter; block: Counter };

/** One attempt of a client, counted for its address (or /64) and, for IPv6, for its /48 too; refused when either is full. */
async function takeForClient(counters: ClientCounters, scope: string, ip: string): Promise<void> {
  const { client, block } = clientKeys(ip);
  const verdict = await counters.one.take(`${scope} ${client}`);
  if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfter);
  if (block === undefined) return;
  const ceiling = await counters.block.take(`${scope} ${block}`);
  if (!ceiling.allowed) throw new RateLimitedError(ceiling.retryAfter);
}

async function giveBackForClient(counters: ClientCounters, scope: string, ip: string): Promise<void> {
  const { client, block } = clientKeys(ip);
  await counters.one.giveBack(`${scope} ${client}`);
  if (block !== undefined) await counters.block.giveBack(`${scope} ${block}`);
}

/**
 * API.md: without TRUST_PROXY the client is the socket's address. A request
 * carrying X-Forwarded-For then most likely comes through a proxy nobody told
 * us about, and every client would share the proxy's limits: said once.
 */
function warnOfIgnoredForwardedFor(app: FastifyInstance): void {
  let warned = false;
  app.addHook('onRequest', async function noticeForwardedFor(request) {
    if (warned || request.headers['x-forwarded-for'] === undefined) return;
    warned = true;
    request.log.warn('X-Forwarded-For is ignored because TRUST_PROXY is not set: every client is counted as the socket address. Behind a reverse proxy, set TRUST_PROXY to the proxy addresses or CIDR ranges (e.g. TRUST_PROXY=10.0.0.0/8) or to the number of proxy hops (e.g. TRUST_PROXY=1).');
  });
}

/** Whom a per-client limit counts (clientKey), and for IPv6 the /48 that also has a ceiling. */
export function clientKeys(ip: string): { client: string; block?: string } {
  const client = clientKey(ip);
  if (!client.endsWith('::/64')) return { client };
  return { client, block: `${client.split(':').slice(0, 3).join(':')}::/48` };
}

/**
 * Whom a per-client limit counts: the IP address, except that an IPv6 client
 * is its /64 (the smallest block a subscriber is given, so anyone can rotate
 * through its addresses) and an IPv4-mapped IPv6 address is its IPv4.
 */
export function clientKey(ip: string): string {
  const address = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (isIPv4(address) || !isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  // A trailing dotted IPv4 part stands for the last two groups.
  const withoutDots = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const [head = '', tail] = withoutDots.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16));
}
