// /account's "Recent activity" (the last ten events, in the visitor's
// language) and "Download my data": GET /account/export answers the same JSON
// file as GET /api/me/export, for the session in the cookie.
import type { FastifyInstance } from 'fastify';
import { describeEvent, type ActivityStrings } from '../../../events/describe.ts';
import { exportAccount } from '../../../flows/activity.ts';
import { listEvents } from '../../../store/events.ts';
import type { EventType } from '../../../events/types.ts';
import { exportFileName } from '../../api/routes/activity.ts';
import type { Page, Pages } from '../context.ts';

const shown = 10;

/** The values account-activity.liquid shows. */
export async function activityValues(page: Page): Promise<{ activity: Record<string, unknown>[] }> {
  const { session, pages, locale } = page;
  if (session === undefined) return { activity: [] };
  const strings = pages.renderer.strings(locale).activity as unknown as ActivityStrings;
  const now = Date.now();
  const rows = await listEvents(pages.deps.store.db, session.user.id, shown);
  return {
    activity: rows.map((row) => ({
      type: row.type,
      at: new Date(row.at).toISOString(),
      ...describeEvent({ ...row, type: row.type as EventType, data: JSON.parse(row.data) as Record<string, unknown> }, strings, locale, now),
    })),
  };
}

export function accountActivityRoutes(app: FastifyInstance, pages: Pages): void {
  app.get('/account/export', async function downloadMyData(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect('/login?next=/account', 'login_required');
    const data = await exportAccount(pages.deps, page.session);
    return reply.type('application/json; charset=utf-8').header('content-disposition', `attachment; filename="${exportFileName}"`).send(JSON.stringify(data, null, 2));
  });
}
