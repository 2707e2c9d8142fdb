// `latchkey users import FILE [--format csv|jsonl] [--dry-run]` (API.md,
// Commands): another app's users, their password hashes as they are, in
// batches of one statement each. The file is streamed and refused rows are
// printed as they come, so a million rows take bounded memory; the one thing
// kept per row is a digest of its canonical address (address-digests.ts, 24
// bytes a row at most). Sends no mail.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Config } from '../config.ts';
import { isFieldError } from '../field-errors.ts';
import { nameField } from '../flows/field-check.ts';
import { defaultLocale, matchLocale } from '../locale.ts';
import { parseEmail } from '../security/email-address.ts';
import { parseLegacyHash } from '../security/legacy-hashes.js';
import type { NewUser } from '../store/schema.ts';
import { openStore } from '../store/store.ts';
import { insertImportedUsers, takenAddresses } from '../store/user-import.ts';
import { AddressDigests } from './address-digests.ts';
import { readRecords, type ImportRecord } from './import-records.ts';

export type UsersImportArgs = { positionals: string[]; format?: string; dryRun?: boolean };
export type Streams = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream & { isTTY?: boolean } };

const batchSize = 1000;
/** The format counted for a row without a hash: an account that can only be reached by a reset. */
const noPassword = 'none (reset only)';

type Row = { line: number; user: NewUser };

/** Returns the exit code: 0 once the file was read (refused rows included), 2 on a bad argument, 1 on an unreadable file. */
export async function usersImport(args: UsersImportArgs, config: Config, streams: Streams): Promise<number> {
  const refuse = (message: string) => { streams.stderr.write(`latchkey: users import: ${message}\n`); return 2; };
  if (args.positionals.length !== 1) return refuse('needs exactly one FILE');
  const file = args.positionals[0]!;
  const format = args.format ?? ({ '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' } as Record<string, string>)[extname(file).toLowerCase()];
  if (format !== 'csv' && format !== 'jsonl') return refuse(args.format === undefined ? `cannot tell the format of ${file}: give --format csv or --format jsonl` : '--format must be csv or jsonl');
  const size = await stat(file).then((s) => (s.isFile() ? s.size : undefined), () => undefined);
  if (size === undefined) return refuse(`cannot read ${file}`);

  const dryRun = args.dryRun === true;
  const store = openStore(config.database);
  const out = streams.stdout;
  const counts = { read: 0, written: 0, refused: 0, defaultLocale: 0 };
  const formats = new Map<string, number>();
  const seen = new AddressDigests();
  let batch: Row[] = [];
  const progress = streams.stderr.isTTY === true ? new Progress(streams.stderr) : undefined;

  const refused = (line: number, reason: string) => {
    counts.refused += 1;
    out.write(`line ${line}: refused: ${reason}\n`);
  };
  const flush = async () => {
    const rows = batch;
    batch = [];
    const canonicals = rows.map((row) => row.user.email_canonical);
    const taken = dryRun ? await takenAddresses(store.db, canonicals) : undefined;
    const inserted = dryRun ? undefined : await insertImportedUsers(store.db, rows.map((row) => row.user));
    for (const row of rows) {
      const canonical = row.user.email_canonical;
      if (dryRun ? taken!.has(canonical) : !inserted!.has(canonical)) refused(row.line, 'address already taken');
      else counts.written += 1;
    }
  };

  try {
    await store.migrate();
    for await (const record of readRecords(createReadStream(file), format)) {
      counts.read += 1;
      progress?.tick(counts.read);
      const row = toRow(record);
      if (typeof row === 'string') {
        refused(record.line, row);
        continue;
      }
      const first = seen.firstLine(row.user.email_canonical, record.line);
      if (first !== undefined) {
        // Earlier rows must be written before the database can say whether this is the same address
        // (it nearly always is: two addresses share a 53-bit digest once in ~10^10 pairs).
        await flush();
        if (dryRun || (await takenAddresses(store.db, [row.user.email_canonical])).size > 0) {
          refused(record.line, `address repeated in the file (line ${first})`);
          continue;
        }
      }
      const hashFormat = row.format;
      formats.set(hashFormat, (formats.get(hashFormat) ?? 0) + 1);
      if (row.localeDefaulted) counts.defaultLocale += 1;
      batch.push(row);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } catch (error) {
    progress?.done();
    streams.stderr.write(`latchkey: users import: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
  progress?.done();
  out.write(`${dryRun ? 'dry run, nothing written: ' : ''}${counts.read} rows read, ${counts.written} ${dryRun ? 'would be written' : 'written'}, ${counts.refused} refused\n`);
  const formatList = [...formats].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} ${count}`).join(', ');
  out.write(`hash formats of the rows read: ${formatList === '' ? 'none' : formatList}\n`);
  if (counts.defaultLocale > 0) out.write(`locale not one of en, ru, zh-CN (set to en): ${counts.defaultLocale} rows\n`);
  return 0;
}

/** The user a record makes, or why it is refused. */
function toRow(record: ImportRecord): (Row & { format: string; localeDefaulted: boolean }) | string {
  const { fields, line } = record;
  if (fields === undefined) return 'not a JSON object';
  const email = parseEmail(text(fields.email));
  if (isFieldError(email)) return `bad address (${email.code})`;
  const hash = text(fields.password_hash).trim();
  const legacy = hash === '' ? undefined : parseLegacyHash(hash);
  if (hash !== '' && legacy === undefined) return 'unknown hash format';
  const name = importedName(text(fields.name));
  const createdAt = fields.created_at === undefined || fields.created_at === null || text(fields.created_at).trim() === '' ? Date.now() : parseTime(fields.created_at);
  if (createdAt === undefined) return 'bad created_at (ISO 8601 or seconds since the epoch)';
  const confirmedAt = parseConfirmed(fields.confirmed, createdAt);
  if (confirmedAt === false) return 'bad confirmed (true/false, 1/0, yes/no, t/f or a date)';
  const localeText = text(fields.locale).trim();
  const locale = localeText === '' ? defaultLocale : matchLocale(localeText);
  const user: NewUser = {
    id: randomUUID(), email: email.display, email_canonical: email.canonical, name,
    password_hash: hash, confirmed_at: confirmedAt, created_at: createdAt, locale: locale ?? defaultLocale,
  };
  return { line, user, format: legacy?.format ?? noPassword, localeDefaulted: locale === undefined };
}

/**
 * A name as sign-up would take it, made so rather than refused: an account is
 * not worth losing over its display name. Line breaks and other control
 * characters become spaces; past 100 characters it is cut.
 */
function importedName(raw: string): string | null {
  // eslint-disable-next-line no-control-regex
  const cleaned = [...raw.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()].slice(0, 100).join('').trim();
  const name = nameField(cleaned);
  return isFieldError(name) ? null : name;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

/** ISO 8601 (a time without a zone is UTC, as SQLAlchemy stores it), or seconds (or milliseconds) since the epoch. */
function parseTime(value: unknown): number | undefined {
  const raw = text(value).trim();
  if (/^\d{1,16}(\.\d+)?$/.test(raw)) {
    const n = Number(raw);
    return Math.round(n > 1e11 ? n : n * 1000);
  }
  const m = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?)(\.\d+)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i.exec(raw);
  if (m === null) return undefined;
  const [, date, time = '00:00:00', fraction = '', zone = 'Z'] = m;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3).replace(':', '') || '00'}`;
  const ms = Date.parse(`${date}T${time.length === 5 ? `${time}:00` : time}${fraction.slice(0, 4)}${offset}`);
  return Number.isFinite(ms) ? ms : undefined;
}

/** When the account was confirmed: null when not, false when the value means nothing. */
function parseConfirmed(value: unknown, createdAt: number): number | null | false {
  if (value === true || value === 1) return createdAt;
  if (value === false || value === 0 || value === undefined || value === null) return null;
  const raw = text(value).trim().toLowerCase();
  if (['true', '1', 'yes', 't', 'y'].includes(raw)) return createdAt;
  if (['false', '0', 'no', 'f', 'n', ''].includes(raw)) return null;
  return parseTime(value) ?? false;
}

/** "N rows read" on a terminal, rewritten in place twice a second. */
class Progress {
  readonly #stream: NodeJS.WritableStream;
  readonly #started = performance.now();
  #last = performance.now();
  #shown = false;
  constructor(stream: NodeJS.WritableStream) { this.#stream = stream; }

  tick(rows: number): void {
    const now = performance.now();
    if (now - this.#last < 500) return;
    this.#last = now;
    this.#shown = true;
    const rate = Math.round(rows / ((now - this.#started) / 1000));
    this.#stream.write(`\r${rows} rows read (${rate} rows/s)`);
  }

  done(): void {
    if (this.#shown) this.#stream.write('\n');
    this.#shown = false;
  }
}
