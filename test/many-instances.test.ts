// The many-instance layout of examples/many-instances (issue 13): two
// `latchkey serve` and one `latchkey worker`, real processes on one PostgreSQL
// and one Redis, behind the example's nginx round-robin. The test's nginx
// adds one line to the example: X-Upstream, the instance that answered.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { strongPassword, uniqueEmail } from './support/accounts.ts';
import { createDatabase, skipUnlessPostgres, testSecretKey, type TestDatabase } from './support/databases.ts';
import { freePort, sleep, until } from './support/process.ts';
import { adaptExample, skipUnless, startNginx, type Service } from './support/proxies.ts';
import { deleteRedisPrefix, skipUnlessRedis, testRedisUrl, uniqueRedisPrefix } from './support/redis.ts';
import { startCli, type CliProcess } from './support/serve-process.ts';
import { SmtpSink, tokenFromLink, type ReceivedMail, type Verdict } from './support/smtp-sink.ts';

const skip = (await skipUnlessPostgres()) || (await skipUnlessRedis()) || skipUnless('nginx');

type Answer = { status: number; json: any; upstream: string };

describe('two serve instances and a worker on one PostgreSQL and one Redis, behind nginx round-robin', { skip }, () => {
  let database: TestDatabase;
  let sink: SmtpSink;
  let nginx: Service;
  let base: string;
  const prefix = uniqueRedisPrefix();
  const serves: CliProcess[] = [];
  const addresses: string[] = [];
  let worker: CliProcess;

  before(async () => {
    // Each message is answered after 300 ms: a process killed while sending leaves no accepted copy behind.
    sink = await new SmtpSink({ decide: async (): Promise<Verdict> => { await sleep(300); return 'accept'; } }).start();
    database = await createDatabase('postgres');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      BASE_URL: base, DATABASE_URL: database.url, SECRET_KEY: testSecretKey, REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: prefix,
      MAIL_SERVER: '127.0.0.1', MAIL_PORT: String(sink.port), TRUST_PROXY: '127.0.0.1', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0',
    };
    // Started together, as a deployment restarts them: their migrations must not collide.
    serves.push(startCli(['serve'], env, { logFile: true }), startCli(['serve'], env, { logFile: true }));
    worker = startCli(['worker'], env, { logFile: true });
    for (const serve of serves) addresses.push(new URL(await serve.listening).host);
    await worker.waitFor('the worker starts', () => worker.output().includes('outbox worker started'));
    nginx = await startNginx(adaptExample('many-instances/nginx.conf', {
      'listen 80;': `listen 127.0.0.1:${port};`,
      '127.0.0.1:3001': addresses[0]!,
      '127.0.0.1:3002': addresses[1]!,
      'location / {': 'location / {\n        add_header X-Upstream $upstream_addr always;',
    }), port);
  });

  after(async () => {
    await nginx?.stop();
    for (const child of [...serves, worker]) await child?.stop();
    await sink?.stop();
    await database?.drop();
    await deleteRedisPrefix(prefix);
  });

  const answers: Answer[] = [];

  /** One request through nginx; which instance answered is in X-Upstream (the last one tried). */
  async function call(method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
    const response = await fetch(base + path, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const answer = { status: response.status, json: text === '' ? undefined : JSON.parse(text), upstream: (response.headers.get('x-upstream') ?? '').split(', ').at(-1)! };
    answers.push(answer);
    return answer;
  }

  /** `call`, repeated while nginx answers 502 (an instance died with this request in it): the walk's repeat against the live one. */
  async function callUntilAnswered(method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
    for (let attempt = 1; ; attempt += 1) {
      const answer = await call(method, path, body, token);
      if (answer.status !== 502 || attempt === 3) return answer;
    }
  }

  const accepted = () => sink.arrivals.filter((a) => a.outcome === 'accepted');

  async function mailTo(address: string, already: number, path: string): Promise<{ mail: ReceivedMail; token: string }> {
    // Up to the 15 s lease of a killed worker, and then some.
    const mail = await sink.waitForMailTo(address, already, 40_000);
    const link = mail.links.find((l) => l.startsWith(`${base}${path}?token=`));
    assert.ok(link !== undefined, `a ${path} link in ${JSON.stringify(mail.links)}`);
    return { mail, token: tokenFromLink(link) };
  }

  test('the whole walk alternates instances, shares rate limits through Redis, survives a SIGKILL of one serve, and mails each message exactly once', { timeout: 180_000 }, async () => {
    const email = uniqueEmail('many');
    const password = strongPassword();
    const mailSent = new Map<string, number>();
    const expectMail = (address: string) => mailSent.set(address, (mailSent.get(address) ?? 0) + 1);

    // Sign up, confirm, log in twice.
    assert.equal((await call('POST', '/api/users', { email, password })).status, 202);
    expectMail(email);
    const confirm = await mailTo(email, 0, '/confirm');
    assert.equal((await call('POST', '/api/confirm', { token: confirm.token })).status, 200);
    const first = await call('POST', '/api/sessions', { email, password });
    const second = await call('POST', '/api/sessions', { email, password });
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal((await call('GET', '/api/me', undefined, first.json.token)).status, 200, 'a session made on one instance works on the other');

    // Rate limits are Redis's, not an instance's: the fourth request for one address is 429, whichever instance gets it.
    const other = uniqueEmail('many-limit');
    assert.equal((await call('POST', '/api/users', { email: other, password: strongPassword() })).status, 202);
    expectMail(other);
    const limited: Answer[] = [];
    for (let i = 0; i < 4; i += 1) limited.push(await call('POST', '/api/reset-password-request', { email: other }));
    assert.deepEqual(limited.map((a) => a.status), [202, 202, 202, 429]);
    for (let i = 0; i < 3; i += 1) expectMail(other);
    assert.deepEqual(new Set(limited.map((a) => a.upstream)), new Set(addresses), 'the four went to both instances');

    // Up to here no instance was down: round-robin sent consecutive requests to different instances.
    for (let i = 1; i < answers.length; i += 1) assert.notEqual(answers[i]!.upstream, answers[i - 1]!.upstream, `requests ${i} and ${i + 1} both went to ${answers[i]!.upstream}`);

    // Ask for a reset, and SIGKILL the instance that answered 202, before its mail can have been sent.
    const resetAsked = await call('POST', '/api/reset-password-request', { email });
    assert.equal(resetAsked.status, 202);
    expectMail(email);
    const killed = serves[addresses.indexOf(resetAsked.upstream)]!;
    const exit = await killed.kill();
    assert.equal(exit.signal, 'SIGKILL');
    const live = addresses.find((a) => a !== resetAsked.upstream)!;
    const afterKill = answers.length;

    // The rest of the walk, through the same nginx: nothing is lost.
    const reset = await mailTo(email, 1, '/reset-password');
    const newPassword = strongPassword();
    assert.equal((await callUntilAnswered('POST', '/api/reset-password', { token: reset.token, password: newPassword })).status, 200);
    expectMail(email); // "your password was changed"
    assert.equal((await callUntilAnswered('GET', '/api/me', undefined, first.json.token)).status, 401, 'the reset ended the sessions');
    const kept = await callUntilAnswered('POST', '/api/sessions', { email, password: newPassword });
    const ended = await callUntilAnswered('POST', '/api/sessions', { email, password: newPassword });
    const third = await callUntilAnswered('POST', '/api/sessions', { email, password: newPassword });
    assert.deepEqual([kept.status, ended.status, third.status], [201, 201, 201]);
    const listed = await callUntilAnswered('GET', '/api/sessions', undefined, kept.json.token);
    assert.equal(listed.status, 200);
    assert.equal(listed.json.sessions.length, 3);
    const endedId = (await callUntilAnswered('GET', '/api/me', undefined, ended.json.token)).json.session.id as string;
    assert.equal((await callUntilAnswered('DELETE', `/api/sessions/${endedId}`, undefined, kept.json.token)).status, 204);
    assert.equal((await callUntilAnswered('GET', '/api/me', undefined, ended.json.token)).status, 401);
    assert.equal((await callUntilAnswered('DELETE', '/api/sessions', undefined, kept.json.token)).status, 204);
    assert.equal((await callUntilAnswered('GET', '/api/me', undefined, third.json.token)).status, 401);
    const left = await callUntilAnswered('GET', '/api/sessions', undefined, kept.json.token);
    assert.deepEqual(left.json.sessions.map((s: { current: boolean }) => s.current), [true]);
    assert.ok(answers.slice(afterKill).every((a) => a.upstream === live), 'after the kill only the live instance answers');

    // Every 202's mail arrived, each exactly once, whichever of the three processes sent it.
    const total = [...mailSent.values()].reduce((a, b) => a + b, 0);
    await until('every mail arrives', () => accepted().length >= total, 40_000);
    await sleep(2000);
    for (const [address, count] of mailSent) assert.equal(sink.received.filter((m) => m.rcptTo.includes(address)).length, count, `mail to ${address}`);
    assert.equal(accepted().length, total, 'no message accepted twice');
    assert.equal(new Set(accepted().map((a) => a.messageId)).size, total);
  });
});
