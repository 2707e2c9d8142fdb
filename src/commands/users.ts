// `latchkey users …`: running accounts from the shell (API.md, "Commands").
// Each subcommand acts through the same flows as the HTTP API (src/flows),
// for nobody on the network (commandLine). Plain output is for a person,
// --json for a program; every bad argument is one line on stderr and a
// non-zero exit (2: the command line is wrong; 1: the account cannot be acted on).
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { fieldMessage } from '../field-errors.ts';
import { commandLine } from '../flows/client.ts';
import { confirmUser } from '../flows/confirm-user.ts';
import { AddressTakenError, createUser } from '../flows/create-user.ts';
import { deleteAccount } from '../flows/delete-account.ts';
import type { FlowDeps } from '../flows/deps.ts';
import { disableUser, enableUser } from '../flows/disable-user.ts';
import { findUser, findUsers } from '../flows/find-user.ts';
import { inviteUser, NotInvitableError } from '../flows/invite-user.ts';
import { publicUser, isoSeconds } from '../flows/public-user.ts';
import { revokeSessions } from '../flows/revoke-sessions.ts';
import { WriteTime } from '../flows/same-time.ts';
import { Outbox, outboxSecretBox } from '../mail/outbox.ts';
import type { Counter } from '../security/rate-limits.ts';
import { resolveSecretKey } from '../security/secret-key.ts';
import type { User } from '../store/schema.ts';
import { openStore, type Store } from '../store/store.ts';

export const usersUsage = `  users list [--search TEXT] [--limit N] [--json]
                         accounts, newest first (default limit 100)
  users show EMAIL|ID [--json]
  users create EMAIL [--name NAME] [--confirmed] [--password-stdin]
                         an account made here, no mail; without --password-stdin it has no usable password until a reset
  users invite EMAIL [--name NAME]
                         an account whose owner sets the password from a mailed link (valid INVITE_TOKEN_TTL)
  users confirm|disable|enable|delete|revoke-sessions EMAIL|ID`;

/** A refusal to print as one line, with its exit code. */
class CommandError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

const options = {
  search: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  name: { type: 'string' },
  confirmed: { type: 'boolean' },
  'password-stdin': { type: 'boolean' },
} as const;

// Which options each subcommand takes; any other is a bad argument.
const allowed: Record<string, (keyof typeof options)[]> = {
  list: ['search', 'limit', 'json'],
  show: ['json'],
  create: ['name', 'confirmed', 'password-stdin'],
  invite: ['name'],
  confirm: [], disable: [], enable: [], delete: [], 'revoke-sessions': [],
  // import: src/commands/users-import.ts (issue 14, points 1, 2, 6) is dispatched from src/cli.ts beside this.
};

type Parsed = { verb: string; target: string | undefined; values: { [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'string' ? string : boolean } };

/** `latchkey users ARGS`; returns the exit code. Only one line ever reaches stderr. */
export async function usersCommand(config: Config, args: string[], io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseUsersArgs(args);
  } catch (error) {
    io.stderr.write(`latchkey: ${oneLine(error)}\n`);
    return 2;
  }
  const store = openStore(config.database);
  try {
    await store.migrate();
    io.stdout.write(await run(commandDeps(config, store), parsed, io.stdin));
    return 0;
  } catch (error) {
    if (!(error instanceof CommandError || error instanceof AppError)) throw error;
    io.stderr.write(`latchkey: ${oneLine(error)}\n`);
    return error instanceof CommandError ? error.exitCode : 1;
  } finally {
    await store.close();
  }
}

function parseUsersArgs(args: string[]): Parsed {
  const { positionals, values } = parseArgs({ args, options, allowPositionals: true, strict: true });
  const [verb, target, ...extra] = positionals;
  if (verb === undefined) throw new CommandError(`users needs a subcommand: ${Object.keys(allowed).join(', ')}`);
  const takes = allowed[verb];
  if (takes === undefined || !Object.hasOwn(allowed, verb)) throw new CommandError(`unknown users subcommand "${verb}"; one of: ${Object.keys(allowed).join(', ')}`);
  const stray = Object.keys(values).find((name) => !takes.includes(name as keyof typeof options));
  if (stray !== undefined) throw new CommandError(`users ${verb} takes no --${stray}`);
  if (verb === 'list') {
    if (target !== undefined) throw new CommandError(`users list takes no argument ("${target}"); use --search TEXT`);
  } else {
    if (target === undefined || target.trim() === '') throw new CommandError(`users ${verb} needs ${verb === 'create' || verb === 'invite' ? 'EMAIL' : 'EMAIL or ID'}`);
    if (extra.length > 0) throw new CommandError(`users ${verb} takes one account, not "${extra.join(' ')}"`);
  }
  return { verb, target, values };
}

/** What the flows need, for a command: no rate limits (an operator is not counted), no HTTP. */
function commandDeps(config: Config, store: Store): FlowDeps {
  const unlimited: Counter = { take: async () => ({ allowed: true }), giveBack: async () => {}, clear: async () => {} };
  return {
    store, config,
    outbox: new Outbox(config.baseUrl.hostname, outboxSecretBox(resolveSecretKey(config))),
    limits: { loginFailures: unlimited, mailPerAddress: unlimited },
    linkWrites: new WriteTime(),
  };
}

async function run(deps: FlowDeps, { verb, target = '', values }: Parsed, stdin: NodeJS.ReadableStream): Promise<string> {
  switch (verb) {
    case 'list': {
      const limit = values.limit === undefined ? 100 : Number(values.limit);
      if (!/^\d+$/.test(values.limit ?? '100') || !Number.isSafeInteger(limit) || limit < 1) throw new CommandError('--limit must be a positive whole number');
      const users = await findUsers(deps, { search: values.search, limit });
      if (values.json === true) return `${JSON.stringify({ users: users.map(described) })}\n`;
      if (users.length === 0) return 'no users\n';
      const rows = users.map((u) => [u.id, u.email, u.name ?? '-', u.confirmed_at === null ? 'unconfirmed' : 'confirmed', u.disabled_at === null ? 'enabled' : 'disabled', isoSeconds(u.created_at)].join('\t'));
      return `${['id', 'email', 'name', 'confirmed', 'status', 'created'].join('\t')}\n${rows.join('\n')}\n`;
    }
    case 'show': {
      const user = await existing(deps, target);
      const sessions = await liveSessions(deps, user);
      if (values.json === true) return `${JSON.stringify({ user: described(user), sessions })}\n`;
      return [
        `id         ${user.id}`,
        `email      ${user.email}`,
        `name       ${user.name ?? '-'}`,
        `confirmed  ${user.confirmed_at === null ? 'no' : `yes, ${isoSeconds(user.confirmed_at)}`}`,
        `disabled   ${user.disabled_at === null ? 'no' : `yes, since ${isoSeconds(user.disabled_at)}`}`,
        `created    ${isoSeconds(user.created_at)}`,
        `language   ${user.locale}`,
        `sessions   ${sessions} live`,
        '',
      ].join('\n');
    }
    case 'create': {
      const password = values['password-stdin'] === true ? withoutFinalNewline(await text(stdin)) : undefined;
      const user = await createUser(deps, commandLine, { email: target, name: values.name, confirmed: values.confirmed === true, password }).catch(explain);
      return `created ${user.email} (id ${user.id}), ${user.confirmed_at === null ? 'unconfirmed' : 'confirmed'}${password === undefined ? ', with no usable password until a reset or an invitation' : ''}\n`;
    }
    case 'invite': {
      const { user, created } = await inviteUser(deps, commandLine, { email: target, name: values.name }).catch(explain);
      return `${created ? 'created' : 'invited existing unconfirmed account'} ${user.email} (id ${user.id}); the invitation is queued and a running serve or worker sends it\n`;
    }
    case 'confirm': {
      const user = await existing(deps, target);
      if (user.confirmed_at !== null) return `${user.email} was already confirmed\n`;
      await confirmUser(deps, commandLine, user);
      return `confirmed ${user.email}\n`;
    }
    case 'disable': {
      const user = await existing(deps, target);
      await disableUser(deps, commandLine, user);
      return `disabled ${user.email}: its sessions ended and its links were voided\n`;
    }
    case 'enable': {
      const user = await existing(deps, target);
      await enableUser(deps, commandLine, user);
      return `${user.disabled_at === null ? 'was not disabled' : 'enabled'}: ${user.email}\n`;
    }
    case 'delete': {
      const user = await existing(deps, target);
      await deleteAccount(deps, commandLine, user);
      return `deleted ${user.email} (id ${user.id}) and everything tied to it; an "account deleted" notice is queued\n`;
    }
    default: {
      const user = await existing(deps, target);
      await revokeSessions(deps, commandLine, user);
      return `ended every session of ${user.email}\n`;
    }
  }
}

async function existing(deps: FlowDeps, emailOrId: string): Promise<User> {
  const user = await findUser(deps, emailOrId);
  if (user === undefined) throw new CommandError(`no user with the address or id "${emailOrId}"`, 1);
  return user;
}

function liveSessions(deps: FlowDeps, user: User): Promise<number> {
  const now = Date.now();
  return deps.store.db.selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', user.id).where('expires_at', '>', now).where('last_used_at', '>', now - deps.config.sessionIdleTtl * 1000)
    .executeTakeFirstOrThrow().then((row) => Number(row.n));
}

/** The API's user, and what only an operator sees. */
function described(user: User) {
  return { ...publicUser(user), disabled: user.disabled_at !== null, locale: user.locale };
}

/** The flows' refusals, in an operator's words. */
function explain(error: unknown): never {
  if (error instanceof AddressTakenError) throw new CommandError('an account with this address already exists', 1);
  if (error instanceof NotInvitableError) {
    throw new CommandError(error.reason === 'disabled' ? 'this account is disabled; enable it first' : 'this account is confirmed and has a password; its owner can ask for a reset', 1);
  }
  throw error;
}

function oneLine(error: unknown): string {
  if (error instanceof AppError && error.errors !== undefined) {
    return Object.entries(error.errors).map(([field, reason]) => `${field === 'email' ? 'EMAIL' : field === 'name' ? '--name' : field} ${fieldMessage(reason)}`).join('; ');
  }
  return ((error as Error).message ?? String(error)).replace(/\s+/g, ' ').trim();
}

/** A password piped in (`echo … |`, a file) ends with the newline that finished its line; the password does not. */
function withoutFinalNewline(input: string): string {
  return input.replace(/\r?\n$/, '');
}
