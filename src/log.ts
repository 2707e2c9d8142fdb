// The process's one logger (pino), built before anything that logs: the HTTP
// server is handed it as its logger instance, and the worker, the pruner and
// the CLI write to it too. Whatever it writes, a password, a token, a cookie
// or an Authorization header reads "[redacted]".
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token', '*.current_password', '*.new_password', '*.code'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }),
    },
  });
}

/**
 * Token links (/confirm?token=…) must not leave their token in the access log,
 * however the parameter's name is spelled: the query parser decodes
 * `?%74oken=…` to `token` too.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&;])([^=&#;]*)=([^&#;]*)/g, (parameter, separator: string, name: string) =>
    decodedName(name).toLowerCase() === 'token' ? `${separator}${name}=[redacted]` : parameter);
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}
