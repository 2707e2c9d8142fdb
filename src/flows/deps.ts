import type { Config } from '../config.ts';
import type { Outbox } from '../mail/outbox.ts';
import type { CodeKey } from '../security/link-codes.ts';
import type { Counter } from '../security/rate-limits.ts';
import type { Store } from '../store/store.ts';
import type { WriteTime } from './same-time.ts';

/** What every flow is given: no Fastify, no request, nothing it could build a link from but BASE_URL. */
export type FlowDeps = {
  store: Store;
  outbox: Outbox;
  config: Config;
  /** The limits a flow applies itself (flow-limits.ts); the per-client ones stay in the HTTP layer. */
  limits: FlowLimits;
  /** How long issuing a link takes, so that an unknown address's answer takes as long (same-time.ts). */
  linkWrites: WriteTime;
  /** Hashes the codes mailed beside links (security/link-codes.ts). */
  codeKey: CodeKey;
};

export type FlowLimits = {
  /** Failed log-ins per canonical address (API.md, Rate limits). */
  loginFailures: Counter;
  /** Requests that passed validation, per mail-sending action and canonical target address. */
  mailPerAddress: Counter;
};
