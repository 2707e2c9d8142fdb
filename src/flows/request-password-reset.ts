import { parseEmail } from '../security/email-address.ts';
import type { FlowDeps } from './deps.ts';
import { checkFields, linkTargetField } from './field-check.ts';
import { issueLinkByAddress } from './issue-link.ts';

export type RequestPasswordResetInput = { email: string; reset_url?: string };

/**
 * API.md, POST /api/reset-password-request: always 202 for a well-formed
 * address. An account (confirmed or not) gets a reset link, and the new link
 * voids the older ones.
 */
export async function requestPasswordReset(deps: FlowDeps, input: RequestPasswordResetInput): Promise<void> {
  const { email, reset_url: target } = checkFields({ email: parseEmail(input.email), reset_url: linkTargetField(input.reset_url, deps.config) });
  await issueLinkByAddress(deps, 'reset-password-request', email, { purpose: 'reset', target, wanted: () => true });
}
