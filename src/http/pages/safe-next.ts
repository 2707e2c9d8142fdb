// The `next` of /login (API.md, "HTML pages"): where a visitor may be sent
// after logging in, judged the way a browser will read the Location.
import type { Config } from '../../config.ts';

/**
 * Where `/login?next=` may send a visitor (API.md, "HTML pages"): a path on
 * this site, or an absolute URL on BASE_URL's origin or an allowed one. A path
 * is judged as a browser will read it, after dot segments are resolved
 * ("/.//evil.example" is "//evil.example", another host) and, because a proxy
 * or an app behind it may decode once more, after percent-decoding as well
 * ("/%2F/evil.example"). The answer is the parsed URL's serialization, never
 * the input, so the Location sent is the one that was checked.
 */
export function safeNext(next: string | undefined, config: Pick<Config, 'allowedOrigins'>): string | undefined {
  if (next === undefined || next === '' || next.length > 2000) return undefined;
  if (next.startsWith('/')) return sitePath(next);
  const url = URL.parse(next);
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return undefined;
  return config.allowedOrigins.includes(url.origin) ? url.href : undefined;
}

const nextBase = 'http://next.invalid';

/** The resolved path, query and fragment of a same-site `next`, unless it could name another host. */
function sitePath(next: string): string | undefined {
  const url = URL.parse(next, nextBase);
  if (url === null || url.origin !== nextBase || leavesSite(url.pathname)) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return undefined;
  }
  const again = URL.parse(decoded, nextBase);
  if (leavesSite(decoded) || again === null || again.origin !== nextBase || leavesSite(again.pathname)) return undefined;
  return url.pathname + url.search + url.hash;
}

/** "//host" and "/\\host" are read by browsers as another host. */
function leavesSite(path: string): boolean {
  return !path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\');
}
