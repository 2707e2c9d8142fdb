// An event as one line of /account's activity, in the visitor's language:
// "Signed in from Firefox on Linux, 192.0.2.1, 5 minutes ago".
import { summarizeUserAgent } from '../user-agent.ts';
import type { EventType } from './types.ts';

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
