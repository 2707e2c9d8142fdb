// The records of an import file, one at a time with the line each starts on:
// CSV (RFC 4180, as sqlite3 -csv and psql \copy write it: a header row, and
// quoted fields that may hold commas, doubled quotes and line breaks) or JSON
// Lines (one object a line). node:readline reads the file a line at a time
// and pauses it while the lines wait, so memory does not grow with the file.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** `fields` is undefined for a JSON line that is not an object. */
export type ImportRecord = { line: number; fields: Record<string, unknown> | undefined };

export class ImportFileError extends Error {}

export async function* readRecords(input: Readable, format: 'csv' | 'jsonl'): AsyncGenerator<ImportRecord> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  if (format === 'jsonl') {
    for await (const raw of lines) {
      lineNumber += 1;
      const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
      yield { line: lineNumber, fields: isObject ? value as Record<string, unknown> : undefined };
    }
    return;
  }

  let header: string[] | undefined;
  let pending: { fields: string[]; field: string; startLine: number } | undefined;
  for await (const raw of lines) {
    lineNumber += 1;
    const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    let parsed: CsvLine;
    if (pending === undefined) {
      if (line === '') continue;
      parsed = parseCsvLine(line, [], undefined);
      if (parsed.open) pending = { fields: parsed.fields, field: parsed.field, startLine: lineNumber };
    } else {
      // A quoted field went on past the line break: the break is part of it.
      parsed = parseCsvLine(line, pending.fields, `${pending.field}\n`);
      if (parsed.open) {
        pending.field = parsed.field;
        continue;
      }
    }
    if (parsed.open) continue;
    const startLine = pending?.startLine ?? lineNumber;
    pending = undefined;
    if (header === undefined) {
      header = parsed.fields.map((name) => name.trim().toLowerCase());
      if (!header.includes('email')) throw new ImportFileError('the CSV header (first line) has no "email" column');
      continue;
    }
    const fields: Record<string, unknown> = {};
    header.forEach((name, i) => { fields[name] = parsed.fields[i]; });
    yield { line: startLine, fields };
  }
  if (pending !== undefined) throw new ImportFileError(`line ${pending.startLine}: a quoted field is never closed`);
}

type CsvLine = { fields: string[]; field: string; open: boolean };

/**
 * Splits one physical line into fields, continuing `fields` and the quoted
 * field `inQuotes` (with its text so far) when a record spans lines.
 */
function parseCsvLine(line: string, fields: string[], inQuotes: string | undefined): CsvLine {
  if (inQuotes === undefined && !line.includes('"')) return { fields: line.split(','), field: '', open: false };
  let field = inQuotes ?? '';
  let quoted = inQuotes !== undefined;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else {
      field += c;
    }
    i += 1;
  }
  if (quoted) return { fields, field, open: true };
  fields.push(field);
  return { fields, field: '', open: false };
}
