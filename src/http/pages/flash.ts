// After a redirect, the next page shows one message. The cookie carries only
// its key, so nobody can make a page say something of their choosing.

const flashKinds = {
  signed_up: 'info',
  confirmed: 'success',
  confirmation_sent: 'info',
  reset_requested: 'info',
  password_reset: 'success',
  logged_in: 'success',
  logged_out: 'info',
  password_changed: 'success',
  email_change_requested: 'info',
  email_changed: 'success',
  login_required: 'warning',
  session_signed_out: 'success',
  session_already_ended: 'info',
  other_sessions_signed_out: 'success',
  name_changed: 'success',
  account_deleted: 'info',
} as const;

export type FlashKey = keyof typeof flashKinds;

export type Flash = { kind: string; role: 'status' | 'alert'; key: FlashKey };

/** The flash a cookie names, or undefined for a key that is not one (the message itself is `flash.<key>` in strings). */
export function flashOf(key: string): Flash | undefined {
  if (!Object.hasOwn(flashKinds, key)) return undefined;
  const kind = flashKinds[key as FlashKey];
  return { kind, role: kind === 'success' || kind === 'info' ? 'status' : 'alert', key: key as FlashKey };
}
