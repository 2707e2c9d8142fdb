// Who made a request, as the HTTP layer saw it: recorded on the sessions a
// log-in opens and on the events a request causes (API.md: `ip`, `user_agent`).
// Flows take it as an argument; only src/http builds one (clientOf).
export type Client = {
  /** The client IP as TRUST_PROXY resolves it (request.ip); null for an operator's command. */
  ip: string | null;
  /** The User-Agent header, at most 200 characters; null when none was sent. */
  userAgent: string | null;
};

/** Operator commands act for nobody on the network. */
export const commandLine: Client = { ip: null, userAgent: null };
