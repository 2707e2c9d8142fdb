// Assertions for the shapes API.md fixes: problem details, the user object,
// `{message}` answers, and what every message the server mails must carry.
import assert from 'node:assert/strict';
import type { TestResponse } from './latchkey.ts';
import type { ReceivedMail } from './smtp-sink.ts';

// What a leaked stack trace, SQL statement or file path looks like.
const leaks = /node_modules|\/work\/|\/src\/|\.ts:\d+|\.js:\d+|\bat [\w.<>]+ \(|\bselect\b.*\bfrom\b|\binsert into\b|\bupdate\b.*\bset\b|sqlite|postgres|kysely|stack/i;

/**
 * An RFC 9457 problem with API.md's fields: `errors` only on 422, nothing
 * that leaks internals. Returns the parsed body.
 */
export function assertProblem(response: TestResponse, status: number, code: string): Record<string, any> {
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}: ${response.text}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json\b/);
  const body = response.json as Record<string, any>;
  assert.ok(body !== null && typeof body === 'object' && !Array.isArray(body), `problem body is not an object: ${response.text}`);
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(body.type, 'about:blank');
  assert.equal(typeof body.title, 'string');
  assert.notEqual(body.title, '');
  assert.equal(typeof body.detail, 'string');
  if (status === 422) {
    assert.ok(body.errors !== null && typeof body.errors === 'object' && !Array.isArray(body.errors), 'a 422 names its fields under errors');
  } else {
    assert.equal('errors' in body, false, `only a 422 has errors: ${response.text}`);
  }
  assert.doesNotMatch(response.text, leaks);
  return body;
}

/** 422 validation_failed whose `errors` names exactly `fields`, each with a message. */
export function assertValidation(response: TestResponse, fields: string[]): Record<string, string> {
  const body = assertProblem(response, 422, 'validation_failed');
  const errors = body.errors as Record<string, unknown>;
  assert.deepEqual(Object.keys(errors).sort(), [...fields].sort(), `errors: ${JSON.stringify(errors)}`);
  for (const field of fields) {
    assert.equal(typeof errors[field], 'string', `errors.${field} is a message`);
    assert.notEqual(errors[field], '');
  }
  return errors as Record<string, string>;
}

/** A success answer of exactly `{message}`. */
export function assertMessage(response: TestResponse, status: number): string {
  assert.equal(response.status, status, response.text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json\b/);
  assert.deepEqual(Object.keys(response.json as object), ['message']);
  assert.equal(typeof response.json.message, 'string');
  assert.notEqual(response.json.message, '');
  return response.json.message as string;
}

const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** API.md's user object: exactly id, email, name, confirmed, created_at. */
export function assertUser(user: unknown, expected: { email?: string; name?: string | null; confirmed?: boolean } = {}): void {
  assert.ok(user !== null && typeof user === 'object', 'user is an object');
  const u = user as Record<string, unknown>;
  assert.deepEqual(Object.keys(u).sort(), ['confirmed', 'created_at', 'email', 'id', 'name']);
  assert.equal(typeof u.id, 'string');
  assert.notEqual(u.id, '');
  assert.equal(typeof u.email, 'string');
  assert.ok(u.name === null || typeof u.name === 'string', 'name is a string or null');
  assert.equal(typeof u.confirmed, 'boolean');
  assert.match(String(u.created_at), isoTime);
  const created = Date.parse(String(u.created_at));
  assert.ok(Math.abs(created - Date.now()) < 10 * 60_000, `created_at ${String(u.created_at)} is about now`);
  if (expected.email !== undefined) assert.equal(u.email, expected.email);
  if (expected.name !== undefined) assert.equal(u.name, expected.name);
  if (expected.confirmed !== undefined) assert.equal(u.confirmed, expected.confirmed);
}

export function isIsoTime(value: unknown): boolean {
  return typeof value === 'string' && isoTime.test(value);
}

/** The header block of a raw message. */
export function headerBlock(mail: ReceivedMail): string {
  return mail.raw.split(/\r?\n\r?\n/)[0] ?? '';
}

/**
 * API.md, Email: multipart/alternative with a text and an HTML part, Subject
 * prefixed by APP_NAME, From MAIL_SENDER, a Message-ID and a Date.
 */
export function assertWellFormedMail(mail: ReceivedMail, expected: { appName: string; fromAddress?: string; fromName?: string }): void {
  const contentType = mail.parsed.headers.get('content-type') as { value?: string } | undefined;
  assert.equal(contentType?.value, 'multipart/alternative', 'the message is multipart/alternative');
  assert.notEqual(mail.text.trim(), '', 'it has a text part');
  assert.notEqual(mail.html.trim(), '', 'it has an HTML part');
  assert.ok(mail.subject.startsWith(expected.appName), `subject "${mail.subject}" starts with ${expected.appName}`);
  assert.ok(mail.subject.length > expected.appName.length + 2, 'the subject says more than the app name');
  const from = mail.parsed.from?.value[0];
  assert.ok(from !== undefined && typeof from.address === 'string' && from.address.includes('@'), 'it has a From address');
  if (expected.fromAddress !== undefined) assert.equal(from!.address, expected.fromAddress);
  if (expected.fromName !== undefined) assert.equal(from!.name, expected.fromName);
  assert.match(mail.parsed.messageId ?? '', /^<[^<>\s@]+@[^<>\s@]+>$/, 'it has a Message-ID');
  assert.match(headerBlock(mail), /^Date: /im, 'it has a Date header');
  assert.ok(mail.parsed.date instanceof Date && Math.abs(mail.parsed.date.getTime() - Date.now()) < 5 * 60_000, 'its Date is about now');
}

/** A link message: the link in both parts, when it expires, and what to do if it was not asked for. */
export function assertLinkMail(mail: ReceivedMail, link: string): void {
  assert.ok(mail.text.includes(link), `the text part carries ${link}`);
  assert.ok(mail.html.includes(link) || mail.html.includes(link.replaceAll('&', '&amp;')), `the HTML part carries ${link}`);
  assert.match(mail.text, /expire|valid (for|until)/i, 'the text part says when the link expires');
  assert.match(mail.html, /expire|valid (for|until)/i, 'the HTML part says when the link expires');
  assert.match(mail.text, /did not|didn.t|not you|ignore/i, 'it says what to do if the reader did not ask for it');
}

/** Mail went to `stored` (the address on the account): local part exactly, domain in any case. */
export function assertSentTo(mail: ReceivedMail, stored: string): void {
  assert.equal(mail.rcptTo.length, 1, `one recipient: ${JSON.stringify(mail.rcptTo)}`);
  const [local, domain] = splitAddress(mail.rcptTo[0]!);
  const [storedLocal, storedDomain] = splitAddress(stored);
  assert.equal(local, storedLocal, `sent to ${mail.rcptTo[0]}, the account's address is ${stored}`);
  assert.equal(domain.toLowerCase(), storedDomain.toLowerCase());
}

function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return [address.slice(0, at), address.slice(at + 1)];
}

/** Every header of two answers but Date, as [name, value] pairs. */
export function headersButDate(response: TestResponse): [string, string][] {
  return [...response.headers].filter(([name]) => name !== 'date');
}
