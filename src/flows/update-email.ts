import { isFieldError, type FieldError } from '../field-errors.ts';
import { parseEmail, type EmailAddress } from '../security/email-address.ts';
import type { User } from '../store/schema.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields } from './field-check.ts';
import { checkCurrentPassword, countMailRequest } from './flow-limits.ts';
import { issueLink } from './issue-link.ts';
import type { Authenticated } from './session.ts';

export type UpdateEmailInput = { new_email: string; password: string };

/**
 * API.md, POST /api/update-email: the new address gets a confirmation link and
 * the old one a notice; nothing changes until the link is used. When another
 * account holds the new address, the answer is the same and that address is
 * told it already has an account, with no link. A wrong password counts as a
 * failed log-in; only a request with the right one counts against the new address.
 */
export async function updateEmail(deps: FlowDeps, session: Authenticated, input: UpdateEmailInput): Promise<void> {
  const { store, outbox } = deps;
  const { user } = session;
  const { new_email: newEmail } = checkFields({ new_email: anotherAddress(parseEmail(input.new_email), user) });
  await checkCurrentPassword(deps, user, input.password);
  await countMailRequest(deps, 'update-email', newEmail.canonical);

  const now = Date.now();
  await store.transaction(async (tx) => {
    const holder = await tx.findUserByEmail(newEmail.canonical);
    if (holder !== undefined) {
      await outbox.enqueue(tx, { kind: 'email_in_use', to: holder.email, params: { name: holder.name, locale: holder.locale } }, now);
    } else {
      await issueLink(deps, tx, { purpose: 'email_change', user, newEmail: newEmail.display }, now);
    }
    // Sent either way, so the old address learns nothing about who holds the new one.
    await outbox.enqueue(tx, { kind: 'email_change_notice', to: user.email, params: { name: user.name, new_email: newEmail.display, locale: user.locale } }, now);
  });
}

function anotherAddress(address: EmailAddress | FieldError, user: Pick<User, 'email_canonical'>): EmailAddress | FieldError {
  return !isFieldError(address) && address.canonical === user.email_canonical ? { code: 'same_email' } : address;
}
