import type { Config } from '../config.ts';
import type { Outbox } from '../mail/outbox.ts';
import type { Store } from '../store/store.ts';

/** What every flow is given: no Fastify, no request, nothing it could build a link from but BASE_URL. */
export type FlowDeps = {
  store: Store;
  outbox: Outbox;
  config: Config;
};
