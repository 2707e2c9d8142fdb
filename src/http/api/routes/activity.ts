// GET /api/me/events and GET /api/me/export (API.md, The signed-in user).
import type { FastifyInstance } from 'fastify';
import { exportAccount, recentEvents } from '../../../flows/activity.ts';
import type { FlowDeps } from '../../../flows/deps.ts';
import { requireSession } from '../session.ts';
import { routeSchemas } from '../schemas.ts';

/** The file name a browser saves the export under. */
export const exportFileName = 'latchkey-account.json';

export async function activityRoutes(app: FastifyInstance, deps: FlowDeps): Promise<void> {
  app.get('/api/me/events', { schema: routeSchemas.events }, async function events(request) {
    const { user } = await requireSession(deps, request);
    return { events: await recentEvents(deps, user.id) };
  });

  app.get('/api/me/export', { schema: routeSchemas.exportAccount }, async function exportData(request, reply) {
    const data = await exportAccount(deps, await requireSession(deps, request));
    return reply.header('content-disposition', `attachment; filename="${exportFileName}"`).send(data);
  });
}
