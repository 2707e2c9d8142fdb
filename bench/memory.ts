// Memory: the resident memory of `latchkey serve` at rest and under each load
// of bench/load (reset flood, the mail drain after it, log-in flood, sign-up
// flood, authz flood), on SQLite and (when reachable) PostgreSQL, and where it
// goes. The server is started as `npm start` starts it (the Node options and
// variables of package.json "start", bench/load/processes.ts startCommand),
// its compile cache warmed by an earlier run as an operator's would be, with
// bench/memory-probe.js imported and an IPC channel; its VmRSS is sampled
// every 100 ms from /proc, the probe tells V8's spaces, external memory, the
// executable's pages and the live hashing threads at each phase's highest RSS.
// See BENCHMARKS.md "Memory".
//
//   DURATION=8 DATABASES=sqlite,postgres MEMORY_ROUNDS=1 \
//     MEMORY_VARIANTS='before=/path/to/other/checkout,bare=.:noflags:nocache,after=.:NAME=VALUE' \
//     node --disable-warning=ExperimentalWarning bench/memory.ts
//
// MEMORY_VARIANTS: the servers to measure, each `name=tree`, `:noflags` to run
// it without npm start's Node options, `:nocache` without its variables (the
// compile cache), `:NAME=VALUE` for an environment variable; in a
// round every variant runs once on each database, the order reversed in odd
// rounds (the machine is shared: compare variants within a run). Default: this
// tree as `npm start` runs it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../src/security/password-hash.ts';
import { testSecretKey, type DatabaseKind } from '../test/support/databases.ts';
import { sleep } from '../test/support/process.ts';
import { cannon, figures, type Load } from './load/pacing.ts';
import { Latchkey, nodeArgs, Smtp, startCommand, thisTree } from './load/processes.ts';
import { writeResults } from './load/report.ts';
import { drain, knownOrUnknown, password, seededDatabase } from './load/scenarios.ts';
import { benchDatabases, outboxCount, type Db } from './load/seed.ts';

const duration = Number(process.env.DURATION ?? 8);
const rounds = Number(process.env.MEMORY_ROUNDS ?? 1);
const users = 1000;
const connections = 32;
const probe = fileURLToPath(new URL('memory-probe.js', import.meta.url));

/** What bench/memory-probe.js answers (bytes). */
type Breakdown = {
  rss: number;
  /** The main isolate's V8 heap, resident, by space (new_space holds both semi-spaces). */
  spaces: Record<string, number>;
  heapPhysical: number;
  /** Memory V8 knows of outside its heap (Buffers, ArrayBuffers, WebAssembly memories) and what V8 itself malloc'd. */
  external: number;
  arrayBuffers: number;
  v8Malloced: number;
  /** Resident pages of the mappings, by kind: the node executable's own file, other files, anonymous (heaps, arenas, stacks). */
  nodeBinary: number;
  otherFiles: number;
  anonymous: number;
  /** Worker threads alive (Node names them WorkerThread): the hashing pool's, here. */
  workerThreads: number;
};

type Variant = { name: string; tree: string; flags: string[]; env: Record<string, string> };
const variants: Variant[] = (process.env.MEMORY_VARIANTS ?? 'this tree=.').split(',').map((entry) => {
  const at = entry.indexOf('=');
  const name = at < 0 ? entry : entry.slice(0, at);
  const [tree = '.', ...options] = (at < 0 ? '.' : entry.slice(at + 1)).split(':');
  const root = tree === '.' ? thisTree : resolve(tree);
  const start = startCommand(root);
  const env = Object.fromEntries(options.filter((o) => o.includes('=')).map((o) => o.split('=', 2) as [string, string]));
  return { name, tree: root, flags: options.includes('noflags') ? [] : start.flags, env: { ...options.includes('nocache') ? {} : start.env, ...env } };
});

/** One phase of a run: the highest VmRSS sampled (every 100 ms), the probe's breakdown at its own highest, the load's figures. */
type Phase = { phase: string; peakRss: number; breakdown: Breakdown; rps?: number; errors?: number; seconds?: number };

/** Asks the probe in the child; `peak` is the breakdown at the highest RSS since the last ask. */
function ask(server: Latchkey): Promise<{ now: Breakdown; peak: Breakdown }> {
  return new Promise((resolve) => {
    const listener = (message: { memoryProbe?: { now: Breakdown; peak: Breakdown } }) => {
      if (message.memoryProbe === undefined) return;
      server.child.off('message', listener);
      resolve(message.memoryProbe);
    };
    server.child.on('message', listener);
    server.child.send({ memoryProbe: 'report' });
  });
}

/** The breakdown is taken at the phase's highest RSS, or at its end (`at: 'end'`: the rest after a load). */
async function phase(server: Latchkey, name: string, run: () => Promise<Partial<Phase> | void>, at: 'peak' | 'end' = 'peak'): Promise<Phase> {
  await ask(server); // the probe's high mark starts afresh
  let peakRss = server.rss();
  const timer = setInterval(() => { peakRss = Math.max(peakRss, server.rss()); }, 100);
  const measured = await run();
  clearInterval(timer);
  peakRss = Math.max(peakRss, server.rss());
  const asked = await ask(server);
  return { phase: name, peakRss, breakdown: at === 'peak' ? asked.peak : asked.now, ...measured };
}

async function flood(server: Latchkey, load: Omit<Load, 'connections' | 'seconds'>, seconds = duration): Promise<Partial<Phase>> {
  const result = figures(await cannon(server.url, { ...load, connections, seconds }), load.expect);
  return { rps: result.rps, errors: result.errors };
}

/** What an earlier run of the same checkout leaves (`npm run latchkey migrate` at a deploy, or the last start): a warm compile cache, when the variant has one. */
async function warmCompileCache(variant: Variant): Promise<void> {
  if (variant.env.NODE_COMPILE_CACHE === undefined) return;
  const child = spawn(process.execPath, [...nodeArgs, ...variant.flags, 'src/cli.ts', '--version'], { cwd: variant.tree, env: { ...process.env, ...variant.env }, stdio: 'ignore' });
  await once(child, 'exit');
}

/**
 * Each load in a server of its own (started as `npm start` would, on a fresh
 * database), so that a phase's figure is its own and not what an earlier
 * load left behind.
 */
async function runVariant(kind: DatabaseKind, variant: Variant, smtp: Smtp, hash: string): Promise<Phase[]> {
  await warmCompileCache(variant);
  const phases: Phase[] = [];
  const withServer = async (use: (server: Latchkey, db: Db) => Promise<void>) => {
    const database = await seededDatabase(kind, users, hash, variant.tree);
    const server = await Latchkey.start({
      databaseUrl: database.url, smtpPort: smtp.port, tree: variant.tree, asNpmStart: false, ipc: true,
      nodeArgs: [...variant.flags, '--import', probe], env: variant.env,
    }, testSecretKey);
    try {
      await server.settled();
      await use(server, database.db);
    } finally {
      await server.stop();
      await database.drop();
    }
  };
  /** A flood, then (mail: true) the drain of the mail it wrote as a phase of its own. */
  const floodPhase = async (server: Latchkey, db: Db, name: string, load: Omit<Load, 'connections' | 'seconds'>, mail?: string) => {
    const smtpBase = await smtp.count();
    const outboxBase = await outboxCount(db);
    phases.push(await phase(server, name, () => flood(server, load)));
    if (mail !== undefined) phases.push(await phase(server, mail, async () => ({ seconds: (await drain(db, smtp, smtpBase, outboxBase, 60_000)).seconds })));
  };

  const reset = { path: '/api/reset-password-request', expect: 202, body: knownOrUnknown(users) };
  await withServer(async (server, db) => {
    phases.push(await phase(server, 'idle after start', () => sleep(3000), 'end'));
    // Warm-up: the reset route, its mail drained; not reported.
    const smtpBase = await smtp.count();
    const outboxBase = await outboxCount(db);
    await flood(server, reset, Math.min(3, duration));
    await drain(db, smtp, smtpBase, outboxBase, 60_000);
    await server.settled();
    await floodPhase(server, db, 'reset flood', reset, 'mail drain after it');
  });
  await withServer(async (server, db) => {
    const login = { path: '/api/sessions', expect: 201, body: () => JSON.stringify({ email: `user${1 + Math.floor(Math.random() * users)}@example.com`, password }) };
    await floodPhase(server, db, 'login flood', login);
    // The hashing threads end 1 s after their last hash: what stays after them.
    await server.settled();
    phases.push(await phase(server, 'hashing threads ended', () => sleep(3000), 'end'));
  });
  await withServer(async (server, db) => {
    let sequence = 0;
    const register = { path: '/api/users', expect: 202, body: () => JSON.stringify({ email: `new${sequence++}-${process.pid}@example.org`, password }) };
    await floodPhase(server, db, 'sign-up flood', register, 'its mail');
  });
  await withServer(async (server, db) => {
    const session = await fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'user1@example.com', password }) });
    const { token } = await session.json() as { token: string };
    await server.settled();
    await floodPhase(server, db, 'authz flood', { path: '/api/authz/auth-request', expect: 200, method: 'GET', headers: { authorization: `Bearer ${token}` } });
  });
  return phases;
}

/** A bare Node process with the probe and the start options, on an empty .mjs and an empty .ts: Node itself, and what the type stripper adds. */
async function bareNode(): Promise<Record<string, Breakdown>> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-memory-'));
  const answers: Record<string, Breakdown> = {};
  try {
    for (const file of ['empty.mjs', 'empty.ts']) {
      writeFileSync(join(dir, file), 'setInterval(() => {}, 1000);\n');
      const child = spawn(process.execPath, [...nodeArgs, ...startCommand().flags, '--import', probe, join(dir, file)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      await sleep(1500);
      child.send({ memoryProbe: 'report' });
      const [message] = await once(child, 'message') as [{ memoryProbe: { now: Breakdown } }];
      answers[file] = message.memoryProbe.now;
      child.kill();
      await once(child, 'exit');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return answers;
}

const mb = (bytes: number | undefined) => bytes === undefined ? '-' : (bytes / 1048576).toFixed(1);

function printRows(results: { round: number; kind: string; variant: string; phases: Phase[] }[]): void {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  console.log(`\n${line(['round', 'database', 'variant', 'phase', 'peak RSS MB', 'req/s', 'drain s'])}\n|---|---|---|---|---|---|---|`);
  for (const r of results) {
    for (const p of r.phases) console.log(line([r.round, r.kind, r.variant, p.phase, mb(p.peakRss), p.rps?.toFixed(p.rps < 100 ? 1 : 0) ?? '-', p.seconds?.toFixed(1) ?? '-']));
  }
  console.log(`\nBreakdown at each phase's highest RSS (MB): V8 new space (both semi-spaces), old space, code, the other V8 spaces;`);
  console.log('external (of it ArrayBuffers); the node executable\'s pages; other files; anonymous memory outside the main V8 heap (malloc arenas,');
  console.log('hashing threads\' isolates and argon2 blocks, SQLite, buffers); live worker threads.');
  console.log(`\n${line(['database', 'variant', 'phase', 'RSS', 'new', 'old', 'code', 'other V8', 'external (AB)', 'node binary', 'files', 'anon − V8 heap', 'threads'])}\n|${'---|'.repeat(13)}`);
  for (const r of results.filter((r) => r.round === 1)) {
    for (const { phase: name, breakdown: b } of r.phases) {
      const { new_space: young = 0, old_space: old = 0, code_space: code = 0 } = b.spaces;
      console.log(line([r.kind, r.variant, name, mb(b.rss), mb(young), mb(old), mb(code), mb(b.heapPhysical - young - old - code),
        `${mb(b.external)} (${mb(b.arrayBuffers)})`, mb(b.nodeBinary), mb(b.otherFiles), mb(b.anonymous - b.heapPhysical), b.workerThreads]));
    }
  }
}

const started = new Date();
console.log(`memory: ${duration} s per flood, ${rounds} round(s), variants ${variants.map((v) => `${v.name} (${v.tree}${v.flags.length > 0 ? ` ${v.flags.join(' ')}` : ', no Node options'}${Object.keys(v.env).length > 0 ? ` ${JSON.stringify(v.env)}` : ''})`).join('; ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const bare = await bareNode();
console.log(`bare Node with the start options: empty .mjs ${mb(bare['empty.mjs']!.rss)} MB, empty .ts ${mb(bare['empty.ts']!.rss)} MB (the type stripper: ${mb(bare['empty.ts']!.rss - bare['empty.mjs']!.rss)} MB; of the .mjs, the node executable's pages ${mb(bare['empty.mjs']!.nodeBinary)} MB)`);
const smtp = await new Smtp().ready();
const results: { round: number; kind: DatabaseKind; variant: string; phases: Phase[] }[] = [];
let skipped: string[] = [];
try {
  const databases = await benchDatabases();
  skipped = databases.skipped;
  const hash = await hashPassword(password);
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? variants : [...variants].reverse();
    for (const kind of databases.kinds) {
      for (const variant of order) {
        const phases = await runVariant(kind, variant, smtp, hash);
        results.push({ round, kind, variant: variant.name, phases });
        console.log(`round ${round} ${kind} ${variant.name}: ${phases.map((p) => `${p.phase} ${mb(p.peakRss)} MB${p.rps === undefined ? '' : ` ${p.rps.toFixed(0)}/s`}`).join(', ')}`);
      }
    }
  }
} finally {
  smtp.stop();
}
printRows(results);
for (const s of skipped) console.log(s);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`written ${writeResults(started, { duration, rounds, variants, bare, skipped, loadavgAfter: loadavg(), results }, 'memory')}`);
