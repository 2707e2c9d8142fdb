#!/usr/bin/env -S node --disable-warning=ExperimentalWarning --max-semi-space-size=8 --max-old-space-size=256
// The V8 options are npm start's (package.json "start", BENCHMARKS.md "Memory");
// `env -S` splits them (GNU coreutils 8.30+, FreeBSD, macOS).
// latchkey serve | migrate | worker | prune | mail test --to ADDRESS | outbox … | users …
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, loadEnvFile, type Config } from './config.ts';
import { lookAlikeVariables } from './config-names.ts';
import { isFieldError } from './field-errors.ts';
import { usersCommand, usersUsage } from './commands/users.ts';
import { createLogger, type Logger } from './log.ts';
import { usersImport } from './commands/users-import.ts';
import { createTransport, runWorker, serve } from './main.ts';
import { prunePastRetention } from './retention.ts';
import { parseEmail } from './security/email-address.ts';
import { OutboxQueue } from './store/outbox-queue.ts';
import { openStore } from './store/store.ts';

const usage = `Usage: latchkey <command>

Commands:
  serve                  answer HTTP on HOST:PORT and deliver mail (applies migrations first)
  migrate                apply pending database migrations and exit
  worker                 deliver mail (and webhooks, with WEBHOOK_URL) from the outbox only (beside a serve on the same database; needs MAIL_SERVER)
  prune                  delete sent and failed mail, dead tokens and ended sessions older than RETENTION_DAYS, events older than EVENT_RETENTION_DAYS
  mail test --to ADDRESS send one message through the configured mail server and print its answer
  outbox list [--status pending|sent|failed] [--limit N]
                         list outbox messages, oldest first (metadata only, never the links)
  outbox retry ID… | --all-failed
                         put failed messages back in the queue, due now
  outbox stats           pending, due and failed counts and the age of the oldest due message
${usersUsage}
  users import FILE [--format csv|jsonl] [--dry-run]
                         add another app's users with their password hashes (no mail; existing accounts untouched)

Options:
  --version              print the version and exit
  --help                 print this text

Configuration comes from the environment or a .env file in the working directory.`;

async function main(argv: string[]): Promise<number> {
  // `users` has options of its own (src/commands/users.ts): parsed there.
  if (argv[0] === 'users' && !argv.includes('--help') && !argv.includes('-h')) {
    loadEnvFile();
    const config = loadConfig();
    if (argv[1] === 'import') return importCommand(config, argv.slice(2));
    return usersCommand(config, argv.slice(1));
  }
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      'all-failed': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.version === true) {
    // package.json's version: what an operator compares against the release notes before an upgrade.
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const [group = '', verb] = positionals;
  const command = group === 'mail' || group === 'outbox' ? `${group} ${verb ?? ''}`.trim() : positionals.join(' ');
  if (values.help === true || command === '' || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return command === '' && values.help !== true ? 2 : 0;
  }

  loadEnvFile();
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  for (const [typed, meant] of lookAlikeVariables(process.env)) log.warn(`${typed} is not a Latchkey variable and is ignored: did you mean ${meant}?`);

  switch (command) {
    case 'serve': {
      const running = await serve(config, log);
      if (config.smtp === undefined) log.info(`no MAIL_SERVER set: mail goes to the dev mailbox, ${running.address}/dev/mailbox`);
      if (running.managementAddress !== undefined) log.info(`metrics and health for operators on ${running.managementAddress}`);
      await untilSignal();
      await running.stop();
      return 0;
    }
    case 'migrate': {
      const store = openStore(config.database);
      const applied = await store.migrate();
      await store.close();
      process.stdout.write(applied.length === 0 ? 'database is up to date\n' : `applied: ${applied.join(', ')}\n`);
      return 0;
    }
    case 'worker':
      return worker(config, log);
    case 'prune':
      return prune(config);
    case 'mail test':
      return mailTest(config, values.to);
    case 'outbox list':
    case 'outbox retry':
    case 'outbox stats':
      return outboxCommand(config, verb!, positionals.slice(2), values);
    default:
      // One line, like every other bad argument (API.md, Commands); the usage is one --help away.
      process.stderr.write(`latchkey: unknown command "${command}"; see latchkey --help\n`);
      return 2;
  }
}

/** `latchkey users import FILE [--format csv|jsonl] [--dry-run]` (src/commands/users-import.ts). */
function importCommand(config: Config, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { format: { type: 'string' }, 'dry-run': { type: 'boolean' } } });
  } catch (error) {
    process.stderr.write(`latchkey: users import: ${(error as Error).message.split('\n')[0]}\n`);
    return Promise.resolve(2);
  }
  const { positionals, values } = parsed;
  return usersImport({ positionals, format: values.format, dryRun: values['dry-run'] }, config, { stdout: process.stdout, stderr: process.stderr });
}

/** `latchkey worker`: delivers the outbox beside a `serve` (main.ts runWorker). */
async function worker(config: Config, log: Logger): Promise<number> {
  // The dev mailbox lives in a process's memory: a worker's would show no one and lose every message.
  if (config.smtp === undefined) throw new ConfigError('MAIL_SERVER', 'set for `latchkey worker` (without it mail would go to a dev mailbox no one can open)');
  const running = await runWorker(config, log);
  log.info(running.managementAddress === undefined ? 'outbox worker started' : `outbox worker started; metrics and health on ${running.managementAddress}`);
  await untilSignal();
  await running.stop();
  return 0;
}

async function prune(config: Config): Promise<number> {
  const store = openStore(config.database);
  try {
    await store.migrate();
    const report = await prunePastRetention(store, config);
    if (report === undefined) {
      process.stdout.write('another instance is pruning now; nothing deleted here\n');
      return 0;
    }
    process.stdout.write(`outbox: ${report.outbox} deleted\ntokens: ${report.tokens} deleted\nsessions: ${report.sessions} deleted\nevents: ${report.events} deleted\n`);
    return 0;
  } finally {
    await store.close();
  }
}

async function mailTest(config: Config, to: string | undefined): Promise<number> {
  const address = parseEmail(to ?? '');
  if (isFieldError(address)) {
    process.stderr.write('latchkey: mail test needs --to ADDRESS, a valid email address\n');
    return 2;
  }
  const { transport } = createTransport(config);
  try {
    const answer = await transport.send({
      from: config.mailSender,
      to: address.display,
      subject: `${config.appName}: test message`,
      text: `This is a test message from ${config.appName} (${config.baseUrl.href}). If you can read it, mail delivery works.\n`,
      html: `<p>This is a test message from ${config.appName}. If you can read it, mail delivery works.</p>`,
      messageId: `<${randomUUID()}@${config.baseUrl.hostname}>`,
      date: new Date(),
    });
    process.stdout.write(`sent: ${answer}\n`);
    return 0;
  } catch (error) {
    const e = error as { code?: string; response?: string; message?: string };
    process.stderr.write(`latchkey: mail test failed: ${[e.code, e.response ?? e.message].filter(Boolean).join(' ')}\n`);
    return 1;
  } finally {
    transport.close();
  }
}

async function outboxCommand(config: Config, verb: string, ids: string[], options: { status?: string; limit?: string; 'all-failed'?: boolean }): Promise<number> {
  if (verb !== 'retry' && ids.length > 0) {
    process.stderr.write(`latchkey: outbox ${verb} takes no argument ("${ids[0]}")\n`);
    return 2;
  }
  const store = openStore(config.database);
  const queue = new OutboxQueue(store);
  try {
    await store.migrate();
    if (verb === 'stats') {
      const stats = await queue.stats(Date.now());
      process.stdout.write(`pending ${stats.pending}\ndue ${stats.due}\nfailed ${stats.failed}\noldest due ${stats.oldestDueSeconds} s\n`);
      return 0;
    }
    if (verb === 'retry') {
      if ((ids.length === 0) === (options['all-failed'] !== true)) {
        process.stderr.write('latchkey: outbox retry needs message ids or --all-failed\n');
        return 2;
      }
      const count = await queue.retryFailed(Date.now(), options['all-failed'] === true ? undefined : ids);
      process.stdout.write(`${count} message${count === 1 ? '' : 's'} queued again; a running worker sends them now\n`);
      return count === 0 && ids.length > 0 ? 1 : 0;
    }
    const status = options.status;
    if (status !== undefined && status !== 'pending' && status !== 'sent' && status !== 'failed') {
      process.stderr.write('latchkey: --status must be pending, sent or failed\n');
      return 2;
    }
    const limit = options.limit === undefined ? 100 : Number(options.limit);
    if (!Number.isSafeInteger(limit) || limit < 1) {
      process.stderr.write('latchkey: --limit must be a positive whole number\n');
      return 2;
    }
    const rows = await queue.list({ status, limit });
    process.stdout.write('id\tkind\trecipient\tstatus\tattempts\tcreated\tnext attempt\tlast error\n');
    for (const row of rows) {
      const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
      process.stdout.write(`${[row.id, row.kind, row.recipient, row.status, row.attempts, when(row.created_at), row.status === 'pending' ? when(row.next_attempt_at) : '-', printable(row.last_error ?? '-')].join('\t')}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`latchkey: configuration error: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`latchkey: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);

/**
 * A last error as an inert field of `outbox list`: it holds what an SMTP server
 * or a webhook receiver answered, whose escape sequences would act on the
 * operator's terminal and whose tabs and line breaks would forge fields and rows.
 */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
