// Authenticated encryption of small secrets kept at rest (a waiting message's
// link): AES-256-GCM under a key derived from SECRET_KEY for one purpose, so
// the same secret can serve other purposes later without their ciphertexts
// opening each other's.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const version = 'v1.';
const ivLength = 12;
const tagLength = 16;

export class SecretBox {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  /** A box whose key is HKDF-SHA256(secret, info = purpose): one secret, many independent keys. */
  static derive(secret: Buffer, purpose: string): SecretBox {
    return new SecretBox(Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `latchkey ${purpose}`, 32)));
  }

  /** True for text in the form seal() writes (whether or not this key opens it). */
  static isSealed(text: string): boolean {
    return text.startsWith(version);
  }

  /**
   * `v1.` + base64url(IV ‖ ciphertext ‖ tag). The IV is random per call; the
   * associated data (the row's id) is authenticated but not stored, so the
   * text opens only where it was written.
   */
  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(ivLength);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: tagLength });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return version + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The plaintext, or undefined when this key (or this associated data) does not open it. */
  open(sealed: string, associatedData: string): string | undefined {
    if (!SecretBox.isSealed(sealed)) return undefined;
    const raw = Buffer.from(sealed.slice(version.length), 'base64url');
    if (raw.length < ivLength + tagLength) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, ivLength), { authTagLength: tagLength });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - tagLength));
    try {
      return Buffer.concat([decipher.update(raw.subarray(ivLength, raw.length - tagLength)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
