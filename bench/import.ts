// `latchkey users import` of ROWS (default 1,000,000) werkzeug pbkdf2 rows,
// as an operator runs it (the CLI as a process of its own, under
// /usr/bin/time for its peak resident memory), on a fresh SQLite file and a
// fresh PostgreSQL database: rows per second and peak RSS. The hashes are
// well-formed (random salt and digest) but match no password: importing
// parses them and never verifies one.
//
//   ROWS=1000000 DATABASES=sqlite,postgres node --disable-warning=ExperimentalWarning bench/import.ts
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, testSecretKey, type DatabaseKind } from '../test/support/databases.ts';
import { benchDatabases } from './load/seed.ts';

const rows = Number(process.env.ROWS ?? 1_000_000);
if (!Number.isSafeInteger(rows) || rows < 1) throw new Error('ROWS: a positive whole number');
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** The CSV the README's sqlite3 export writes, ROWS users long. */
async function writeCsv(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write('email,name,confirmed,created_at,password_hash\n');
  const random = randomBytes(48 * 4096);
  for (let i = 0; i < rows; i += 1) {
    const offset = (i % 4096) * 48;
    // A salt and digest that differ row to row without a random draw per row.
    const salt = random.toString('base64url', offset, offset + 12).slice(0, 16);
    const digest = `${i.toString(16).padStart(8, '0')}${random.toString('hex', offset + 12, offset + 40)}`;
    const line = `user${i}@example.com,"User ${i}",1,"2021-03-04 05:06:07.891011",pbkdf2:sha256:600000$${salt}$${digest}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function importOnce(kind: DatabaseKind, file: string): Promise<void> {
  const database = await createDatabase(kind);
  try {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'peak-rss-kib %M', process.execPath, '--disable-warning=ExperimentalWarning', cli, 'users', 'import', file], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DATABASE_URL: database.url, SECRET_KEY: testSecretKey, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const [code] = await once(child, 'close') as [number | null];
    const seconds = (performance.now() - started) / 1000;
    const summary = /^(\d+) rows read, (\d+) written, (\d+) refused$/m.exec(stdout);
    const peakKiB = Number(/peak-rss-kib (\d+)/.exec(stderr)?.[1]);
    if (code !== 0 || summary === null || Number(summary[2]) !== rows) throw new Error(`import on ${kind} failed (${code}):\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
    console.log(`  ${kind}: ${rows} rows written in ${seconds.toFixed(1)} s (process start and migrations included) = ${Math.round(rows / seconds)} rows/s; peak RSS ${(peakKiB / 1024).toFixed(0)} MiB`);
  } finally {
    await database.drop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-import-bench-'));
try {
  const file = join(dir, 'users.csv');
  const writing = performance.now();
  await writeCsv(file);
  const size = readFileSync(file).byteLength;
  console.log(`users import: ${rows} werkzeug pbkdf2 rows, ${(size / 1024 / 1024).toFixed(0)} MiB of CSV (written in ${((performance.now() - writing) / 1000).toFixed(1)} s)`);
  const { kinds } = await benchDatabases();
  for (const kind of kinds) await importOnce(kind, file);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
