// The two ways the load bench sends requests: full speed (autocannon, closed
// loop: each of 32 connections sends its next request when the answer comes)
// and paced (an open loop at an even rate, timed from each request's slot).
// Only the status the scenario expects counts as throughput; any other
// answer, a socket error or a timeout is an error.
import http from 'node:http';
import autocannon from 'autocannon';
import { sleep } from '../../test/support/process.ts';
import { quantile } from './report.ts';

export type Load = {
  path: string;
  /** The status a right answer has (202 for a reset request, 200 for a log-in…): only these count as req/s. */
  expect: number;
  method?: 'GET' | 'POST';
  body?: () => string;
  headers?: Record<string, string>;
  /** Headers made afresh for each request (a token from a cycle), beside `headers`. */
  headersEach?: () => Record<string, string>;
  connections: number;
  seconds: number;
};

export type Figures = {
  /** Expected answers a second. */
  rps: number;
  p50: number;
  p99: number;
  /** Answers with another status, socket errors and timeouts. */
  errors: number;
  /** Expected answers. */
  requests: number;
  /** Statuses other than the expected one, with their counts, when there were any. */
  otherStatuses?: Record<string, number>;
};

export function cannon(url: string, load: Load): Promise<autocannon.Result> {
  const { body, headersEach } = load;
  const vary = body !== undefined || headersEach !== undefined;
  return autocannon({
    url,
    connections: load.connections,
    duration: load.seconds,
    requests: [{
      method: load.method ?? 'POST',
      path: load.path,
      headers: { 'content-type': 'application/json', ...load.headers },
      ...(vary ? { setupRequest: (request: autocannon.Request) => ({ ...request, ...(body === undefined ? {} : { body: body() }), ...(headersEach === undefined ? {} : { headers: { ...request.headers, ...headersEach() } }) }) } : {}),
    }],
  });
}

/**
 * autocannon's figures, counting only `expect` answers as throughput
 * (autocannon's requests.total counts every answer, a fast 500 included).
 * Its latency percentiles cover 2xx answers only, in whole milliseconds.
 */
export function figures(result: autocannon.Result, expect: number): Figures {
  const statuses = result.statusCodeStats ?? {};
  let expected = 0;
  let other = 0;
  const otherStatuses: Record<string, number> = {};
  for (const [status, { count = 0 }] of Object.entries(statuses)) {
    if (Number(status) === expect) expected += count;
    else { other += count; otherStatuses[status] = count; }
  }
  return {
    rps: expected / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    // autocannon's `errors` already includes its timeouts.
    errors: other + result.errors,
    requests: expected,
    ...(other === 0 ? {} : { otherStatuses }),
  };
}

/**
 * Requests at an even pace, `rate` a second, on up to `connections` keep-alive
 * connections. (autocannon's rate limit sends each connection's quota for the
 * second back to back at the start of the second: a burst, then silence.)
 * Request i is due at start + i/rate, and its latency runs from then, not
 * from when this loop got round to sending it: a late loop, a wait for a free
 * connection or a slow server all count (no coordinated omission).
 */
export async function paced(url: string, load: Load & { rate: number }): Promise<Figures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: load.connections });
  const latencies: number[] = [];
  const otherStatuses: Record<string, number> = {};
  let errors = 0;
  const one = (slot: number) => new Promise<void>((resolve) => {
    const request = http.request(`${url}${load.path}`, { method: load.method ?? 'POST', agent, headers: { 'content-type': 'application/json', ...load.headers, ...load.headersEach?.() } }, (response) => {
      response.resume();
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status === load.expect) latencies.push(performance.now() - slot);
        else { errors += 1; otherStatuses[status] = (otherStatuses[status] ?? 0) + 1; }
        resolve();
      });
    });
    request.on('error', () => { errors += 1; resolve(); });
    request.end(load.body?.());
  });
  const inFlight = new Set<Promise<void>>();
  const interval = 1000 / load.rate;
  const total = Math.round(load.seconds * load.rate);
  const start = performance.now();
  for (let sent = 0; sent < total;) {
    const now = performance.now();
    for (; sent < total && start + sent * interval <= now; sent++) {
      const request = one(start + sent * interval);
      inFlight.add(request);
      void request.then(() => inFlight.delete(request));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    rps: latencies.length / elapsed, p50: quantile(latencies, 0.5) ?? NaN, p99: quantile(latencies, 0.99) ?? NaN, errors, requests: latencies.length,
    ...(Object.keys(otherStatuses).length === 0 ? {} : { otherStatuses }),
  };
}
