// An event as one line of /account's activity, in the visitor's language:
// "Signed in from Firefox on Linux, 192.0.2.1, 5 minutes ago". The User-Agent
// summary is a few ordered tests, not a parser: it names the common browsers
// and systems and falls back to the product token, so nothing is invented.
import type { EventType } from './types.ts';

/** Browser and system, most specific first (Edge and Opera also say Chrome; Chrome also says Safari). */
const browsers: [RegExp, string][] = [
  [/\bEdgA?\//, 'Edge'], [/\bOPR\//, 'Opera'], [/\bSamsungBrowser\//, 'Samsung Internet'], [/\bYaBrowser\//, 'Yandex Browser'],
  [/\bFirefox\//, 'Firefox'], [/\bFxiOS\//, 'Firefox'], [/\bCriOS\//, 'Chrome'], [/\bChromium\//, 'Chromium'],
  [/\bHeadlessChrome\//, 'Headless Chrome'], [/\bChrome\//, 'Chrome'], [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'], [/^curl\//, 'curl'],
];
const systems: [RegExp, string][] = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'], [/\bAndroid\b/, 'Android'], [/\bCrOS\b/, 'ChromeOS'], [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'], [/\bLinux\b/, 'Linux'],
];

export type Device = { browser: string; system: string | undefined };

/** What a User-Agent header says in a few words; undefined when there is none. */
export function summarizeUserAgent(userAgent: string | null): Device | undefined {
  if (userAgent === null || userAgent.trim() === '') return undefined;
  const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1]
    // Not a browser we know: its first product token ("python-requests", "okhttp"), at most 40 characters.
    ?? (/^[\w.-]{1,40}/.exec(userAgent)?.[0] ?? userAgent.slice(0, 40));
  return { browser, system: systems.find(([pattern]) => pattern.test(userAgent))?.[1] };
}

const units: [Intl.RelativeTimeFormatUnit, number][] = [['year', 365 * 86_400], ['month', 30 * 86_400], ['week', 7 * 86_400], ['day', 86_400], ['hour', 3600], ['minute', 60]];

/** "5 minutes ago", "вчера", "3天前": the largest whole unit, by the built-in Intl.RelativeTimeFormat. */
export function relativeTime(locale: string, at: number, now: number): string {
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const seconds = Math.round((at - now) / 1000);
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(0, 'second');
}

/** The strings a line is made of (templates/strings/<locale>.json, key `activity`): pieces joined as they are, spaces included. */
export type ActivityStrings = {
  types: Record<string, string>;
  methods: Record<string, string>;
  via: Record<string, string>;
  /** "{browser} on {system}" */
  device: string;
  /** "from {device}" */
  from: string;
};

export type DescribedEvent = { type: EventType; at: number; ip: string | null; user_agent: string | null; data: Record<string, unknown> };

/** One line: what happened (and how), from where, and when. */
export function describeEvent(event: DescribedEvent, strings: ActivityStrings, locale: string, now: number): { what: string; details: string[]; when: string } {
  // Keyed without the `user.` prefix: the strings files' keys hold no dots.
  let what = strings.types[event.type.replace(/^user\./, '')] ?? event.type;
  const method = event.data.method;
  if (typeof method === 'string' && strings.methods[method] !== undefined) what += strings.methods[method];
  const via = event.data.via;
  if (typeof via === 'string' && strings.via[via] !== undefined) what += strings.via[via];
  if (typeof event.data.old_email === 'string') what = what.replaceAll('{old_email}', event.data.old_email);
  const device = summarizeUserAgent(event.user_agent);
  if (device !== undefined) {
    const named = device.system === undefined ? device.browser : strings.device.replaceAll('{browser}', device.browser).replaceAll('{system}', device.system);
    what += strings.from.replaceAll('{device}', named);
  }
  return { what, details: event.ip === null ? [] : [event.ip], when: relativeTime(locale, event.at, now) };
}
