import { parseEmail } from '../security/email-address.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, linkTargetField } from './field-check.ts';
import { issueLinkByAddress } from './issue-link.ts';

export type ResendConfirmationInput = { email: string; confirm_url?: string };

/** API.md, POST /api/resend-confirm: always 202; only an existing unconfirmed account gets a fresh link. */
export async function resendConfirmation(deps: FlowDeps, input: ResendConfirmationInput): Promise<void> {
  const { email, confirm_url: target } = checkFields({ email: parseEmail(input.email), confirm_url: linkTargetField(input.confirm_url, deps.config) });
  await issueLinkByAddress(deps, 'resend-confirm', email, { purpose: 'confirm', target, wanted: (user) => user.confirmed_at === null });
}
