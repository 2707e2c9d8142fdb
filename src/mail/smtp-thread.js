// Runs in the SMTP thread (see transport.ts smtpTransport): Nodemailer builds
// each MIME message and talks SMTP here, off the event loop that answers
// requests. Building a message through Nodemailer's streams and writing it
// out was most of a mail's CPU: with it here the event loop spends ~390 µs
// on a message instead of ~1,050 (BENCHMARKS.md, target 4), so mail keeps up
// under a steady load instead of waiting for the load to ease.
//
// Plain JavaScript, as argon2-worker.js is: a .ts file would make this thread
// load Node's type stripper whenever the compile cache is cold.
import { workerData } from 'node:worker_threads';
import nodemailer from 'nodemailer';

// The pooled transport's options, made by transport.ts nodemailerOptions.
const transporter = nodemailer.createTransport(workerData);

/**
 * Sends one message; answers `{ response }` or `{ failure }`, the error's
 * fields as plain data: an Error crossing threads keeps only its message,
 * and the worker decides on a retry by Nodemailer's code and SMTP reply code.
 * @param {import('./transport.ts').OutgoingMail} mail
 */
export default async function send(mail) {
  try {
    const info = await transporter.sendMail(mail);
    return { response: String(info.response) };
  } catch (error) {
    const { message, code, responseCode, response, command, permanent } = /** @type {Record<string, unknown>} */ (error);
    return { failure: { message, code, responseCode, response, command, permanent } };
  }
}
