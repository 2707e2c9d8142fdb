// The queries behind a link's code (API.md "Links and codes"): a code is tried
// with an address and a purpose, and each try is counted on the live tokens it
// could be before it is compared, so tries sent in parallel cannot all slip
// under the limit. Spending a matched token is the flows' usual spendToken.
import type { Kysely } from 'kysely';
import type { Database, Token, TokenPurpose } from './schema.ts';

/** Wrong codes a token takes; the try that would be one more finds no token. */
export const codeAttemptsPerToken = 5;

export type CodeCandidate = Pick<Token, 'token_hash' | 'user_id' | 'purpose' | 'code_failures'> & { code_hash: string };

/**
 * Counts one try against every live, coded token mailed to `address` for
 * `purposes` that has tries left, and returns them, to be compared with the
 * typed code. The conditional UPDATE decides between concurrent tries.
 */
export async function takeCodeAttempt(db: Kysely<Database>, address: string, purposes: TokenPurpose[], now: number): Promise<CodeCandidate[]> {
  const rows = await db.updateTable('tokens')
    .set((eb) => ({ code_failures: eb('code_failures', '+', 1) }))
    .where('code_address', '=', address)
    .where('purpose', 'in', purposes)
    .where('spent_at', 'is', null)
    .where('expires_at', '>', now)
    .where('code_hash', 'is not', null)
    .where('code_failures', '<', codeAttemptsPerToken)
    .returning(['token_hash', 'user_id', 'purpose', 'code_hash', 'code_failures'])
    .execute();
  return rows.map((row) => ({ ...row, code_hash: row.code_hash ?? '', code_failures: Number(row.code_failures) }));
}

/** A try that was the right code is no failure: its count is given back. */
export async function giveBackCodeAttempt(db: Kysely<Database>, tokenHash: string): Promise<void> {
  await db.updateTable('tokens')
    .set((eb) => ({ code_failures: eb('code_failures', '-', 1) }))
    .where('token_hash', '=', tokenHash)
    .where('code_failures', '>', 0)
    .execute();
}
