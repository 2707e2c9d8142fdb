// API.md "Rate limits" at the HTTP edge: requests per endpoint and client,
// requests per endpoint and canonical target address, and invalid_token
// answers per client. A route opts in through `config.limits`; counters are
// keyed by the endpoint's name, not its URL, so an HTML form that declares
// the same name shares its JSON endpoint's counts. A refusal is thrown as a
// RateLimitedError, so each scope answers it in its own form (problem+json,
// or an HTML page). Failed log-ins are counted by the sign-in flow itself
// (FlowDeps.limits).
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { RateLimitedError } from '../../errors.ts';
import { parseEmail } from '../../security/email-address.ts';
import { createRateLimits, type RateLimits } from '../../security/rate-limits.ts';

export type RouteLimits = {
  /** The action's name, e.g. "reset-password-request": the key its counters share with its HTML form. */
  endpoint: string;
  /** Requests per client a minute (RATE_LIMIT_IP_PER_MINUTE). */
  perClient?: boolean;
  /** The body field holding the address the mail goes to: requests per canonical address. */
  addressField?: string;
  /** A token redemption: invalid_token answers per client, counted across every redeeming endpoint. */
  redeemsToken?: boolean;
};

/** Every rate-limited action of API.md. A JSON endpoint and its HTML form declare the same entry, and so share counts. */
export const endpointLimits = {
  signUp: { endpoint: 'sign-up', perClient: true, addressField: 'email' },
  resendConfirm: { endpoint: 'resend-confirm', perClient: true, addressField: 'email' },
  resetRequest: { endpoint: 'reset-password-request', perClient: true, addressField: 'email' },
  updateEmail: { endpoint: 'update-email', perClient: true, addressField: 'new_email' },
  logIn: { endpoint: 'log-in', perClient: true },
  confirm: { endpoint: 'confirm', redeemsToken: true },
  resetPassword: { endpoint: 'reset-password', redeemsToken: true },
} as const satisfies Record<string, RouteLimits>;

declare module 'fastify' {
  interface FastifyContextConfig {
    limits?: RouteLimits;
  }
}

/** Creates the counters (memory, or Redis with REDIS_URL), guards the routes that declare limits, and returns the counters for the flows. */
export async function registerRateLimits(app: FastifyInstance, config: Config): Promise<RateLimits> {
  const limits = await createRateLimits(config, (error) => {
    app.log.warn({ err: error }, 'Redis unreachable: rate limits are counted by this instance alone until it is back');
  });
  app.addHook('onClose', () => limits.close());
  if (config.rateLimits.enabled) guardRoutes(app, limits);
  return limits;
}

function guardRoutes(app: FastifyInstance, limits: RateLimits): void {
  // Redemptions counted and not yet known to be invalid: given back once the answer is anything else.
  const redemptions = new WeakSet<FastifyRequest>();

  // Before the body is read, so a flood from one client costs no parsing.
  app.addHook('onRequest', async function limitPerClient(request) {
    const route = request.routeOptions.config?.limits;
    if (route?.perClient !== true) return;
    const verdict = await limits.ipPerMinute.take(`${route.endpoint} ${clientKey(request.ip)}`);
    if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfter);
  });

  // After parsing and validation: the address is counted in its canonical form.
  app.addHook('preHandler', async function limitPerAddress(request) {
    const route = request.routeOptions.config?.limits;
    if (route?.addressField !== undefined) {
      const value = (request.body as Record<string, unknown> | undefined)?.[route.addressField];
      const address = typeof value === 'string' ? parseEmail(value) : undefined;
      // A malformed address has no canonical form to count: the flow answers it with its 422.
      if (address !== undefined && typeof address !== 'string') {
        const verdict = await limits.mailPerAddress.take(`${route.endpoint} ${address.canonical}`);
        if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfter);
      }
    }
    if (route?.redeemsToken === true) {
      const verdict = await limits.invalidTokens.take(clientKey(request.ip));
      if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfter);
      redemptions.add(request);
    }
  });

  // A redemption that got this far and is answered 400 is an invalid token: the JSON
  // endpoints and the HTML forms both answer invalid_token so (malformed bodies are
  // refused before preHandler). onSend rather than onResponse: the count is settled
  // before the client can send its next request.
  app.addHook('onSend', async function giveBackRedemption(request, reply) {
    if (redemptions.delete(request) && reply.statusCode !== 400) await limits.invalidTokens.giveBack(clientKey(request.ip));
  });
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
