// Tells the in-process outbox worker when request handling has the event loop
// saturated, so mail steps aside: answers come first, and the mail, durable in
// the outbox, catches up once the rush is over (issue 6: at full load the
// worker's rendering and SMTP took ~13% (SQLite) to 21% (PostgreSQL) of the
// request rate while delivering only a trickle).
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Server } from 'node:http';

export class RequestPressure {
  #requests = 0;
  #busy = false;
  #last: EventLoopUtilization = performance.eventLoopUtilization();
  readonly #timer: NodeJS.Timeout;

  /**
   * Busy: over the last `intervalMs`, the event loop was working more than
   * `threshold` of the time and at least one request arrived. Mail alone, however
   * much of it, never counts as busy.
   */
  constructor(server: Server, intervalMs = 250, threshold = 0.95) {
    server.on('request', () => { this.#requests += 1; });
    this.#timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      this.#busy = this.#requests > 0 && performance.eventLoopUtilization(now, this.#last).utilization > threshold;
      this.#last = now;
      this.#requests = 0;
    }, intervalMs).unref();
  }

  get busy(): boolean {
    return this.#busy;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
