// Loaded into a server child by bench/memory.ts only (`node --import` of this
// file, with an IPC channel): Latchkey itself never imports it. It answers the
// bench's { memoryProbe: 'report' } with where the process's memory is now and
// where it was at the highest RSS it saw since the last report (it checks RSS
// every 100 ms and takes the full breakdown only on a new high); the answer's
// shape is Breakdown in memory.ts. Plain JavaScript so that it does not load
// Node's type stripper itself: the bench measures what the stripper costs.
import { readdirSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';


function mappings() {
  const sums = { nodeBinary: 0, otherFiles: 0, anonymous: 0 };
  /** @type {keyof typeof sums} */
  let kind = 'anonymous';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header !== null) {
      const path = header[1];
      kind = path === '' || path.startsWith('[') ? 'anonymous' : /\/node$/.test(path) ? 'nodeBinary' : 'otherFiles';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) sums[kind] += Number(rss[1]) * 1024;
  }
  return sums;
}

function workerThreads() {
  let n = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'WorkerThread') n++;
    } catch { /* the thread ended meanwhile */ }
  }
  return n;
}

function breakdown() {
  const usage = process.memoryUsage();
  const heap = getHeapStatistics();
  return {
    rss: usage.rss,
    spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size])),
    heapPhysical: heap.total_physical_size,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    v8Malloced: heap.malloced_memory,
    ...mappings(),
    workerThreads: workerThreads(),
  };
}

if (process.send !== undefined) {
  let peak = breakdown();
  setInterval(() => {
    if (process.memoryUsage.rss() > peak.rss) peak = breakdown();
  }, 100).unref();
  process.on('message', (/** @type {{ memoryProbe?: string }} */ message) => {
    if (message.memoryProbe !== 'report') return;
    const now = breakdown();
    process.send?.({ memoryProbe: { now, peak: peak.rss >= now.rss ? peak : now } });
    peak = now;
  });
  // The channel must not keep the process alive: the server stops on SIGTERM as it would without the bench.
  process.channel?.unref();
}
