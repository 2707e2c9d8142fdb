// Steps the contract tests take over and over, through the public HTTP API
// only: sign up, confirm, log in, ask for a reset, pick a link out of a mail.
import assert from 'node:assert/strict';
import { testBaseUrl, type TestServer } from './latchkey.ts';
import { tokenFromLink, type ReceivedMail } from './smtp-sink.ts';

const runId = Math.random().toString(36).slice(2, 7);
let counter = 0;

/** An address no other test uses. */
export function uniqueEmail(label = 'user', domain = 'example.com'): string {
  counter += 1;
  return `${label}-${runId}-${counter}@${domain}`;
}

/** A password no policy refuses: long, random, not on any list, no app name in it. */
export function strongPassword(): string {
  return `Sturdy-${Math.random().toString(36).slice(2, 10)}-${Math.random().toString(36).slice(2, 6)}!`;
}

export type Account = { email: string; password: string; name?: string };

export type SignUpInput = { email: string; password: string; name?: string; confirm_url?: string };

/** POST /api/users, expecting 202, and the next mail to the address. */
export async function signUp(server: TestServer, input: SignUpInput): Promise<ReceivedMail> {
  const address = input.email.trim();
  const before = server.smtp.to(address).length;
  const response = await server.request('POST', '/api/users', { body: input });
  assert.equal(response.status, 202, response.text);
  return server.smtp.waitForMailTo(address, before);
}

/** A fresh account; confirmed (through its mailed link) unless told otherwise. */
export async function createAccount(
  server: TestServer,
  options: { email?: string; password?: string; name?: string; confirmed?: boolean } = {},
): Promise<Account> {
  const account: Account = { email: options.email ?? uniqueEmail(), password: options.password ?? strongPassword() };
  if (options.name !== undefined) account.name = options.name;
  const mail = await signUp(server, account.name === undefined ? { email: account.email, password: account.password } : { ...account, name: account.name });
  if (options.confirmed ?? true) {
    const response = await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkTo(mail, '/confirm')) } });
    assert.equal(response.status, 200, response.text);
  }
  return account;
}

/** POST /api/sessions, expecting 201; returns the bearer token. */
export async function logIn(server: TestServer, email: string, password: string): Promise<string> {
  const response = await server.request('POST', '/api/sessions', { body: { email, password } });
  assert.equal(response.status, 201, response.text);
  assert.equal(typeof response.json.token, 'string');
  return response.json.token as string;
}

/** POST /api/reset-password-request, expecting 202; returns the token of the link mailed to `mailbox`. */
export async function requestReset(server: TestServer, email: string, mailbox = email): Promise<string> {
  const before = server.smtp.to(mailbox).length;
  const response = await server.request('POST', '/api/reset-password-request', { body: { email } });
  assert.equal(response.status, 202, response.text);
  return tokenOfNextLink(server, mailbox, before, '/reset-password');
}

/** POST /api/update-email, expecting 202; returns the token of the link mailed to the new address. */
export async function requestEmailChange(server: TestServer, session: string, newEmail: string, password: string): Promise<string> {
  const before = server.smtp.to(newEmail).length;
  const response = await server.request('POST', '/api/update-email', { token: session, body: { new_email: newEmail, password } });
  assert.equal(response.status, 202, response.text);
  return tokenOfNextLink(server, newEmail, before, '/confirm-email');
}

/**
 * The token of the next mail to `mailbox` with a link to `path`, skipping
 * others: the notice of an earlier flow (an email change tells the old
 * address) is sent independently and may arrive after this flow's mail is asked for.
 */
async function tokenOfNextLink(server: TestServer, mailbox: string, before: number, path: '/reset-password' | '/confirm-email'): Promise<string> {
  const prefix = `${testBaseUrl}${path}?token=`;
  const mail = await server.smtp.waitForMailToMatching(mailbox, before, (candidate) => candidate.links.some((link) => link.startsWith(prefix)));
  return tokenFromLink(linkTo(mail, path));
}

/**
 * The link of a mail that the server built itself: BASE_URL + path + ?token=…
 * (API.md, "Links that the server builds itself").
 */
export function linkTo(mail: ReceivedMail, path: '/confirm' | '/reset-password' | '/confirm-email'): string {
  return linkStartingWith(mail, `${testBaseUrl}${path}?token=`);
}

/** The one link in the text part that starts with `prefix`. */
export function linkStartingWith(mail: ReceivedMail, prefix: string): string {
  const found = mail.links.filter((link) => link.startsWith(prefix));
  assert.equal(found.length, 1, `expected one link starting with ${prefix} in "${mail.subject}", found: ${JSON.stringify(mail.links)}`);
  return found[0]!;
}

/**
 * The 6-digit code of a link mail (API.md "Links and codes"), read from the
 * text part, where it ends its own line; the HTML part must show the same one.
 */
export function codeOf(mail: ReceivedMail): string {
  const codes = [...mail.text.matchAll(/(?:^|[\s:：])(\d{6})$/gm)].map((m) => m[1]!);
  assert.equal(codes.length, 1, `expected one code in the text of "${mail.subject}": ${mail.text}`);
  assert.ok(mail.html.includes(`>${codes[0]}<`), 'the HTML part shows the same code');
  return codes[0]!;
}

/** Whether any link of the mail (text or HTML part) carries a token. */
export function carriesToken(mail: ReceivedMail): boolean {
  return /token=|\/confirm\?|\/reset-password\?|\/confirm-email\?/.test(mail.text + mail.html);
}
