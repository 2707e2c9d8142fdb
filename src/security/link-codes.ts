// The 6-digit code mailed beside every link (API.md "Links and codes"). A
// million codes are few enough to try all of them against a stolen hash, so a
// code is stored only as HMAC-SHA256 under a key derived from SECRET_KEY (for
// this one use, as the outbox's key is for its): a copy of the database
// without the key tells nothing of the codes in it.
import { createHmac, hkdfSync, randomInt, timingSafeEqual } from 'node:crypto';

export const codeLength = 6;

/** A fresh code: uniformly one of 000000–999999. */
export function newCode(): string {
  return String(randomInt(0, 10 ** codeLength)).padStart(codeLength, '0');
}

export class CodeKey {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  static derive(secret: Buffer): CodeKey {
    return new CodeKey(Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'latchkey link codes', 32)));
  }

  /** The stored form of a code: base64url HMAC-SHA256. */
  hash(code: string): string {
    return createHmac('sha256', this.#key).update(code, 'utf8').digest('base64url');
  }

  /** Whether `typed` is the code stored as `stored`, compared in constant time. */
  matches(typed: string, stored: string): boolean {
    const a = Buffer.from(this.hash(typed));
    const b = Buffer.from(stored);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
