// Request bodies as TypeBox schemas: one definition gives Fastify its JSON
// Schema (strict types, no coercion) and the routes their TypeScript types.
import Type, { type Static, type TSchema } from 'typebox';

const text = (maxLength = 1024) => Type.String({ maxLength });
// Length and strength are the password policy's to judge, after NFKC; the
// body limit bounds it here.
const password = () => Type.String();

export const SignUpBody = Type.Object({
  email: text(),
  password: password(),
  name: Type.Optional(text()),
  confirm_url: Type.Optional(text(2048)),
});
// Any string is a token to judge (unknown ones are 400 invalid_token), so no length limit of its own.
const token = () => Type.String();
// A link's code (API.md "Links and codes"); anything but six digits is 400 invalid_token, like a bad token.
const code = () => text(64);
// A field of another shape, which this one must not have: exactly one shape per request.
const absent = () => Type.Optional(Type.Never());
export const ConfirmBody = Type.Union([
  Type.Object({ token: token(), email: absent(), code: absent() }),
  Type.Object({ email: text(), code: code(), token: absent() }),
]);
export const ResendConfirmBody = Type.Object({ email: text(), confirm_url: Type.Optional(text(2048)) });
const PasswordSignIn = Type.Object({ email: text(), password: password(), token: absent(), code: absent() });
export const SignInBody = Type.Union([
  PasswordSignIn,
  Type.Object({ token: token(), email: absent(), password: absent(), code: absent() }),
  Type.Object({ email: text(), code: code(), password: absent(), token: absent() }),
]);
export const LoginLinkBody = Type.Object({ email: text(), login_url: Type.Optional(text(2048)) });
export const ResetRequestBody = Type.Object({ email: text(), reset_url: Type.Optional(text(2048)) });
export const ResetPasswordBody = Type.Union([
  Type.Object({ token: token(), password: password(), email: absent(), code: absent() }),
  Type.Object({ email: text(), code: code(), password: password(), token: absent() }),
]);
export const UpdatePasswordBody = Type.Object({ current_password: password(), new_password: password() });
export const UpdateEmailBody = Type.Object({ new_email: text(), password: password() });
export const UpdateMeBody = Type.Object({ name: Type.Union([text(), Type.Null()]) });
export const DeleteMeBody = Type.Object({ password: password() });

export type Body<T extends TSchema> = Static<T>;

// Responses, for the OpenAPI document (/openapi.json) and Fastify's serializer.
const Message = Type.Object({ message: Type.String() });
const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  confirmed: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
});
const time = () => Type.String({ format: 'date-time' });
const nullableString = () => Type.Union([Type.String(), Type.Null()]);
const SessionInfo = Type.Object({
  id: Type.String(), created_at: time(), last_used_at: time(), expires_at: time(), current: Type.Boolean(),
  ip: nullableString(), user_agent: nullableString(),
});
// Events (API.md, Events and webhooks) and the export; a session's fields are
// whatever the sessions table records, the token hash excepted (flows/activity.ts).
const Event = Type.Object({
  id: Type.String(), type: Type.String(), at: Type.String({ format: 'date-time' }),
  ip: Type.Union([Type.String(), Type.Null()]), user_agent: Type.Union([Type.String(), Type.Null()]),
  data: Type.Object({}, { additionalProperties: true }),
});
const ExportedUser = Type.Object({ ...User.properties, locale: Type.String(), confirmed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) });
const ExportedSession = Type.Object({ created_at: Type.String(), last_used_at: Type.String(), expires_at: Type.String(), current: Type.Boolean() }, { additionalProperties: true });
const bearer = [{ bearer: [] }];
const sessionCookie: Record<string, string[]>[] = [{ bearer: [] }, { sessionCookie: [] }];
// The reverse-proxy endpoints answer with headers and an empty body (@fastify/swagger reads `headers` for the document).
const empty = (description: string, headers: Record<string, string> = {}) => ({
  type: 'null', description,
  headers: Object.fromEntries(Object.entries(headers).map(([name, about]) => [name, { type: 'string', description: about }])),
});
const latchkeyHeaders = {
  'X-Latchkey-User-Id': "The user's id.", 'X-Latchkey-Email': "The user's address.", 'X-Latchkey-Session-Id': "The session's public id.",
};
const errors = (codes: string) => `Errors (application/problem+json, by code): ${codes}.`;
const bodyErrors = 'unsupported_media_type, payload_too_large, invalid_json, validation_failed, cross_site, rate_limited';

/** Route schemas: body, responses and the words of API.md, in one place per endpoint. */
export const routeSchemas = {
  signUp: {
    tags: ['accounts'], summary: 'Sign up', body: SignUpBody, response: { 202: Message },
    description: `The same 202 whether or not the address already has an account; a new address gets a confirmation link, a known one an "account already exists" mail. ${errors(bodyErrors)}`,
  },
  confirm: {
    tags: ['accounts'], summary: 'Confirm an address (sign-up or email change)', body: ConfirmBody, response: { 200: Type.Object({ message: Type.String(), user: User }) },
    description: `Takes the link's \`token\`, or the \`email\` its mail went to (for an email change, the new address) and its 6-digit \`code\`; spends both. ${errors(`invalid_token, ${bodyErrors}`)}`,
  },
  resendConfirm: {
    tags: ['accounts'], summary: 'Send a new confirmation link', body: ResendConfirmBody, response: { 202: Message },
    description: `Always 202; only an existing unconfirmed account gets mail. ${errors(bodyErrors)}`,
  },
  signIn: {
    tags: ['sessions'], summary: 'Log in', body: SignInBody,
    response: { 201: Type.Object({ token: Type.String(), expires_at: Type.String({ format: 'date-time' }), user: User }) },
    description: `Exactly one shape: \`email\` and \`password\`; a log-in link's \`token\`; or \`email\` and the link's \`code\` (a link or code confirms an unconfirmed account). Returns a bearer token. ${errors(`invalid_credentials, email_not_confirmed, invalid_token, account_disabled, ${bodyErrors}`)}`,
  },
  /** PASSWORDLESS=off: only the password shape. */
  signInWithPassword: {
    tags: ['sessions'], summary: 'Log in', body: PasswordSignIn,
    response: { 201: Type.Object({ token: Type.String(), expires_at: Type.String({ format: 'date-time' }), user: User }) },
    description: `Returns a bearer token. ${errors(`invalid_credentials, email_not_confirmed, account_disabled, ${bodyErrors}`)}`,
  },
  loginLink: {
    tags: ['sessions'], summary: 'Email me a log-in link', body: LoginLinkBody, response: { 202: Message },
    description: `Always 202 for a well-formed address; an existing enabled account gets a log-in link and code (valid LOGIN_LINK_TTL), which voids older ones. ${errors(bodyErrors)}`,
  },
  signOut: { tags: ['sessions'], summary: 'Log out', security: bearer, response: { 204: Type.Null() }, description: errors('unauthenticated') },
  me: {
    tags: ['sessions'], summary: 'The logged-in user', security: bearer,
    response: { 200: Type.Object({ user: User, session: Type.Object({ id: Type.String(), expires_at: time() }) }) }, description: errors('unauthenticated'),
  },
  listSessions: {
    tags: ['sessions'], summary: "The user's live sessions, newest first", security: bearer,
    response: { 200: Type.Object({ sessions: Type.Array(SessionInfo) }) },
    description: `ip and user_agent as seen at log-in. ${errors('unauthenticated')}`,
  },
  revokeSession: {
    tags: ['sessions'], summary: 'End one session of the user', security: bearer,
    params: Type.Object({ id: Type.String() }), response: { 204: Type.Null() },
    description: `An id that is not a live session of this user is 404. ${errors('unauthenticated, not_found')}`,
  },
  revokeOtherSessions: {
    tags: ['sessions'], summary: 'End every other session of the user', security: bearer, response: { 204: Type.Null() },
    description: `This session stays. ${errors('unauthenticated')}`,
  },
  authRequest: {
    tags: ['reverse proxies'], summary: 'Who is this? (nginx auth_request)', security: sessionCookie,
    response: { 200: empty('A live session; counts as a use of it.', latchkeyHeaders), 401: empty('No live session.') },
    description: 'Reads the session from Authorization: Bearer or the session cookie. Empty bodies; not rate-limited.',
  },
  forwardAuth: {
    tags: ['reverse proxies'], summary: 'Who is this? (Caddy forward_auth, Traefik forwardAuth)', security: sessionCookie,
    response: {
      200: empty('A live session; counts as a use of it.', latchkeyHeaders),
      302: empty('No session, on a browser navigation (X-Forwarded-Method GET or HEAD, Accept with text/html) to an allowed origin: to BASE_URL/login?next=<the URL from X-Forwarded-Proto, -Host and -Uri>.', { Location: 'The log-in page.' }),
      401: empty('No live session, on any other request.'),
    },
    description: 'Reads the session from Authorization: Bearer or the session cookie. Empty bodies; not rate-limited.',
  },
  events: {
    tags: ['accounts'], summary: "The account's security events", security: bearer, response: { 200: Type.Object({ events: Type.Array(Event) }) },
    description: `Newest first, at most 100. ${errors('unauthenticated')}`,
  },
  exportAccount: {
    tags: ['accounts'], summary: 'Download my data', security: bearer,
    response: { 200: Type.Object({ user: ExportedUser, sessions: Type.Array(ExportedSession), events: Type.Array(Event) }) },
    description: `An attachment (Content-Disposition): the user, sessions and events; no password hash, token or code. ${errors('unauthenticated')}`,
  },
  resetRequest: {
    tags: ['passwords'], summary: 'Ask for a password reset link', body: ResetRequestBody, response: { 202: Message },
    description: `Always 202 for a well-formed address; the new link voids older ones. ${errors(bodyErrors)}`,
  },
  resetPassword: {
    tags: ['passwords'], summary: 'Set a new password with a reset token or code', body: ResetPasswordBody, response: { 200: Message },
    description: `Takes the link's \`token\`, or the \`email\` and its 6-digit \`code\`. Ends every session of the user; a weak password (422) leaves the token unspent. ${errors(`invalid_token, ${bodyErrors}`)}`,
  },
  updatePassword: {
    tags: ['passwords'], summary: 'Change the password', security: bearer, body: UpdatePasswordBody, response: { 200: Message },
    description: `Ends every other session. ${errors(`unauthenticated, invalid_credentials, ${bodyErrors}`)}`,
  },
  updateEmail: {
    tags: ['accounts'], summary: 'Change the email address', security: bearer, body: UpdateEmailBody, response: { 202: Message },
    description: `Mails a confirmation link to the new address; the address changes when it is used. ${errors(`unauthenticated, invalid_credentials, ${bodyErrors}`)}`,
  },
  updateMe: {
    tags: ['accounts'], summary: 'Change the display name', security: bearer, body: UpdateMeBody, response: { 200: Type.Object({ user: User }) },
    description: `The same rules as at sign-up; null or "" clears the name. ${errors(`unauthenticated, ${bodyErrors}`)}`,
  },
  deleteMe: {
    tags: ['accounts'], summary: 'Delete the account', security: bearer, body: DeleteMeBody, response: { 204: Type.Null() },
    description: `Deletes the account, its sessions, tokens and unsent mail, and mails an "account deleted" notice; the address is free again. A wrong password counts as a failed log-in. ${errors(`unauthenticated, invalid_credentials, ${bodyErrors}`)}`,
  },
  health: {
    tags: ['operations'], summary: 'Health',
    response: { 200: Type.Object({ status: Type.Literal('ok') }) },
    // Nothing that moves with mail or accounts: counts live on the management listener (/health there).
    description: 'Says only whether this instance can reach its database. 503 (problem+json, code unavailable, with Retry-After) when it cannot.',
  },
};
