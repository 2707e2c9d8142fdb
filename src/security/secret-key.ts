// SECRET_KEY as the process uses it. PostgreSQL deployments always give it
// (config refuses to start otherwise: every instance must share it). A SQLite
// deployment without it gets a random key created once in a file beside the
// database and read back on every later start, so mail queued before a
// restart can still be opened after it.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, type Config } from '../config.ts';

const keyBytes = 32;

export function resolveSecretKey(config: Pick<Config, 'secretKey' | 'database'>): Buffer {
  if (config.secretKey !== undefined) return config.secretKey;
  if (config.database.kind !== 'sqlite') throw new ConfigError('SECRET_KEY', 'set with PostgreSQL');
  // Nothing outlives an in-memory database, so neither need its key.
  if (config.database.path === ':memory:') return randomBytes(keyBytes);
  return readOrCreateKeyFile(keyFilePath(config.database.path));
}

/** `<database>.key`: beside the file it protects, and matched by `*.db.key` in .gitignore. */
export function keyFilePath(databasePath: string): string {
  return `${databasePath}.key`;
}

function readOrCreateKeyFile(path: string): Buffer {
  return readKeyFile(path) ?? createKeyFile(path);
}

/**
 * Writes the whole key to a private temporary file first, then links it into
 * place: link() fails if the name exists, so of a `serve` and a `worker`
 * starting together exactly one key wins, and nobody ever reads a half-written file.
 */
function createKeyFile(path: string): Buffer {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${randomBytes(keyBytes).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readKeyFile(path)!;
}

function readKeyFile(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!/^(?:[0-9a-f]{2}){32,}$/i.test(text)) {
    throw new ConfigError('SECRET_KEY', `set, or ${path} must hold at least 32 bytes as hex (the key Latchkey created there); mail waiting under a lost key cannot be sent`);
  }
  return Buffer.from(text, 'hex');
}
