// Opaque secrets for links and sessions: 256 random bits, URL-safe, stored
// only as their SHA-256, so a copy of the database opens no account.
import { hash, randomBytes } from 'node:crypto';

export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}
