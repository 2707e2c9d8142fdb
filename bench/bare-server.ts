// The request-path limit for bench/load.ts: a bare Fastify route answering {}
// to POST /, in a process of its own, on the same machine and connections as
// Latchkey. Sends { port } over IPC once listening; exits when the parent goes.
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';

if (process.send === undefined) throw new Error('bench/bare-server.ts runs as a child with an IPC channel');
const send = process.send.bind(process);
const app = Fastify({ logger: false });
app.post('/', async () => ({}));
await app.listen({ port: 0, host: '127.0.0.1' });
send({ port: (app.server.address() as AddressInfo).port, pid: process.pid });
process.on('disconnect', () => { void app.close().then(() => process.exit(0)); });
