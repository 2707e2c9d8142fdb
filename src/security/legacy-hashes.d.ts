// Types of legacy-hashes.js (plain JavaScript so the hashing threads load no type stripper).
export declare const werkzeugDefaultIterations: number;

export type LegacyTask =
  | { kind: 'pbkdf2'; digest: 'sha1' | 'sha256' | 'sha512'; iterations: number; salt: Uint8Array; expected: Uint8Array }
  | { kind: 'scrypt'; n: number; r: number; p: number; salt: Uint8Array; expected: Uint8Array }
  | { kind: 'bcrypt'; hash: string }
  | { kind: 'argon2'; algorithm: 'argon2id' | 'argon2i' | 'argon2d'; parameters: { memory: number; passes: number; parallelism: number; nonce: Uint8Array; tagLength: number }; expected: Uint8Array };

export type LegacyHash = { format: string; cost: string; task: LegacyTask };

export declare function parseLegacyHash(stored: string): LegacyHash | undefined;
export declare function verifyLegacyTask(task: LegacyTask, password: Uint8Array): boolean;
