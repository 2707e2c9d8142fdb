// With no MAIL_SERVER configured, delivered mail lands here (newest kept,
// oldest dropped past a bound) and its link is printed, so a new user can
// click through every flow without an SMTP server.
import type { OutgoingMail } from './transport.ts';

export type CapturedMail = OutgoingMail & { raw: string };

const capacity = 200;

export class DevMailbox {
  readonly #messages: CapturedMail[] = [];
  readonly #print: (line: string) => void;

  constructor(print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {
    this.#print = print;
  }

  add(mail: CapturedMail): void {
    this.#messages.unshift(mail);
    this.#messages.length = Math.min(this.#messages.length, capacity);
    // Dev mode only: printing the link is the point, so it is written to the
    // console directly and never to the structured log.
    const links = mail.text.match(/https?:\/\/\S+/g) ?? [];
    this.#print(`[dev mailbox] to ${mail.to}: ${mail.subject}${links.map((l) => `\n  ${l}`).join('')}`);
  }

  /** Newest first. */
  list(): readonly CapturedMail[] {
    return this.#messages;
  }
}
