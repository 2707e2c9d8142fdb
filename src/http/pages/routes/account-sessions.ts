// The sessions section of /account (API.md, "HTML pages"): the user's live
// sessions, with a "sign out" form for each other session and one for all the
// others. The same flows as GET/DELETE /api/sessions.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../../errors.ts';
import { listSessions, revokeOtherSessions, revokeSession } from '../../../flows/sessions.ts';
import { clientOf } from '../../shared/client.ts';
import type { Page, Pages } from '../context.ts';
import { summarizeUserAgent } from '../../../user-agent.ts';
import { formField } from '../forms.ts';

const loginFirst = '/login?next=/account';
const backToAccount = { form: '/account' };

export function accountSessionRoutes(app: FastifyInstance, pages: Pages): void {
  const { deps } = pages;

  app.post('/account/sessions/revoke', { config: { askAgain: backToAccount } }, async function signOutSession(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect(loginFirst, 'login_required');
    try {
      await revokeSession(deps, page.session, formField(request, 'id'), clientOf(request));
    } catch (error) {
      // Already ended (elsewhere, or by a second click): nothing left to do, and the list shows it.
      if (error instanceof AppError && error.code === 'not_found') return page.redirect('/account', 'session_already_ended');
      throw error;
    }
    return page.redirect('/account', 'session_signed_out');
  });

  app.post('/account/sessions/revoke-others', { config: { askAgain: backToAccount } }, async function signOutOthers(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect(loginFirst, 'login_required');
    await revokeOtherSessions(deps, page.session, clientOf(request));
    return page.redirect('/account', 'other_sessions_signed_out');
  });
}

export type SessionRow = { id: string; device: string; ip: string; when: string; current: boolean };

/** The sessions list as the template shows it: device in words, IP, when it logged in and was last used. */
export async function sessionRows(page: Page): Promise<SessionRow[]> {
  const dates = new Intl.DateTimeFormat(page.locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
  const at = (iso: string) => `${dates.format(new Date(iso))} UTC`;
  return (await listSessions(page.pages.deps, page.session!)).map((session) => {
    const device = summarizeUserAgent(session.user_agent);
    return {
      id: session.id,
      device: device === undefined ? page.text('sessions.unknown_device')
        : device.system === undefined ? device.browser
        : page.text('sessions.device').replaceAll('{browser}', device.browser).replaceAll('{system}', device.system),
      ip: session.ip ?? page.text('sessions.unknown_ip'),
      when: page.text('sessions.when').replaceAll('{created}', at(session.created_at)).replaceAll('{used}', at(session.last_used_at)),
      current: session.current,
    };
  });
}
