// The parent's side of test/support/smtp-sink-child.ts: an SMTP sink in a
// process of its own, asked over IPC for the mail a test needs to read.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export type SinkMail = { subject: string; text: string; links: string[] };

type Reply = { id: number; mail?: SinkMail; count?: number; error?: string };

export class SmtpSinkProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  #nextId = 1;

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
    child.on('message', (reply: Reply) => {
      this.#pending.get(reply.id)?.(reply);
      this.#pending.delete(reply.id);
    });
  }

  static async start(): Promise<SmtpSinkProcess> {
    const child = fork(fileURLToPath(new URL('./smtp-sink-child.ts', import.meta.url)), [], {
      execArgv: ['--disable-warning=ExperimentalWarning'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [first] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => { throw new Error(`the SMTP sink process exited with ${code} before listening`); }),
    ])) as [{ port: number }];
    return new SmtpSinkProcess(child, first.port);
  }

  #ask(request: object, timeoutMs: number): Promise<Reply> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the SMTP sink did not answer ${JSON.stringify(request)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error !== undefined) reject(new Error(reply.error));
        else resolve(reply);
      });
      this.#child.send({ id, ...request });
    });
  }

  /** The (already+1)th message to `address`, waiting for it up to `timeoutMs`. */
  async waitForMailTo(address: string, already = 0, timeoutMs = 10_000): Promise<SinkMail> {
    return (await this.#ask({ mailTo: address, already }, timeoutMs)).mail!;
  }

  /** How many messages the sink has accepted in all. */
  async count(): Promise<number> {
    return (await this.#ask({ count: true }, 5000)).count!;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#child.disconnect();
    await exited;
  }
}
