// Issuing an emailed link, written once for every flow that mails one: a
// fresh token (the older links it replaces voided), and the mail carrying it,
// stored together, with the link built from BASE_URL or the client's checked
// target. The mail leaves when the write commits (the store wakes the worker).
import type { Config } from '../config.ts';
import type { MessageKind } from '../mail/messages.ts';
import type { EmailAddress } from '../security/email-address.ts';
import { newToken } from '../security/tokens.ts';
import type { TokenPurpose, User } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { FlowDeps } from './deps.ts';
import { countMailRequest, type MailAction } from './flow-limits.ts';

type LinkKind = {
  /** The page of BASE_URL that opens it, when the client named no route of its own. */
  page: string;
  /** How long it lives, in seconds. */
  ttl: (config: Config) => number;
  mail: MessageKind;
  /** The live tokens of the user that the new one voids. */
  voids: TokenPurpose[];
};

const linkKinds = {
  // Older confirmation links stay valid: any of them proves the address.
  confirm: { page: '/confirm', ttl: (config) => config.confirmTokenTtl, mail: 'confirm', voids: [] },
  reset: { page: '/reset-password', ttl: (config) => config.resetTokenTtl, mail: 'reset_password', voids: ['reset'] },
  email_change: { page: '/confirm-email', ttl: (config) => config.confirmTokenTtl, mail: 'email_change_confirm', voids: ['email_change'] },
  // `latchkey users invite`: the reset page sets the first password (reset-password.ts takes both).
  invite: { page: '/reset-password', ttl: (config) => config.inviteTokenTtl, mail: 'invitation', voids: ['invite'] },
} as const satisfies Record<TokenPurpose, LinkKind>;

export type LinkRequest = {
  purpose: TokenPurpose;
  user: Pick<User, 'id' | 'email' | 'name' | 'locale'>;
  /** The client's own route for the link (a serialization from linkTargetField). */
  target?: string | undefined;
  /** An email change: the address the link moves the account to, which is where the mail goes. */
  newEmail?: string;
};

/** Writes the link's token and its mail in `store`: the caller's transaction when it has one, else a write of its own. */
export async function issueLink(deps: Pick<FlowDeps, 'config' | 'outbox'>, store: Store, request: LinkRequest, now = Date.now()): Promise<void> {
  const { config, outbox } = deps;
  const kind = linkKinds[request.purpose];
  const { user, newEmail } = request;
  const { token, hash } = newToken();
  const expiresAt = now + kind.ttl(config) * 1000;
  await store.issueToken(
    { token_hash: hash, user_id: user.id, purpose: request.purpose, new_email: newEmail ?? null, created_at: now, expires_at: expiresAt },
    [...kind.voids],
    outbox.row({
      kind: kind.mail,
      to: newEmail ?? user.email,
      params: {
        name: user.name,
        link: linkWithToken(config, kind.page, token, request.target),
        expires_at: new Date(expiresAt).toISOString(),
        ...(newEmail === undefined ? {} : { new_email: newEmail }),
        locale: user.locale,
      },
      expiresAt,
    }, now),
  );
}

/**
 * A link asked for by address (API.md: reset request, resend confirmation),
 * with the same answer in about the same time whether or not it goes out:
 * counted against the address, then a link for an account `wanted` accepts,
 * or else a wait about as long as issuing one takes (same-time.ts).
 */
export async function issueLinkByAddress(deps: FlowDeps, action: MailAction, email: EmailAddress, link: AddressedLink): Promise<void> {
  await countMailRequest(deps, action, email.canonical);
  // Looked up outside any transaction: an unknown address costs one read, and
  // a known one a single write of token and mail together (Store.issueToken).
  const user = await deps.store.findUserByEmail(email.canonical);
  // A disabled account gets no mail but notices: the same answer after the same wait.
  if (user === undefined || user.disabled_at !== null || !link.wanted(user)) return deps.linkWrites.wait();
  await deps.linkWrites.measure(() => issueLink(deps, deps.store, { purpose: link.purpose, user, target: link.target }));
}

export type AddressedLink = {
  purpose: TokenPurpose;
  target: string | undefined;
  /** Whether the address's account gets the link; one that does not gets nothing, after the same wait. */
  wanted: (user: User) => boolean;
};

// `{token}` as typed, or as the path serializes it (hex digits in either case).
const tokenPlaceholder = /\{token\}|%7[Bb]token%7[Dd]/;
const tokenPlaceholders = new RegExp(tokenPlaceholder.source, 'g');

/**
 * A link carrying `token`: to the client's own route when it gave one (a
 * serialization from linkTargetField), else to BASE_URL + path. The
 * token takes the place of `{token}` wherever it stands (the path holds it
 * percent-encoded, `%7Btoken%7D`), else goes in the query as `token`. Only the
 * path, query and fragment are filled in, and the result is serialized again,
 * so the mailed link is always a parsed URL on the checked origin.
 */
export function linkWithToken(config: Config, path: string, token: string, clientTarget?: string): string {
  const url = new URL(clientTarget ?? `${config.baseUrl.href.replace(/\/$/, '')}${path}`);
  const rest = url.pathname + url.search + url.hash;
  if (tokenPlaceholder.test(rest)) return new URL(url.origin + rest.replace(tokenPlaceholders, token)).href;
  url.searchParams.set('token', token);
  return url.href;
}
