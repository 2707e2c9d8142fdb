// GET /openapi.json: the OpenAPI 3 document of every JSON endpoint, generated
// by @fastify/swagger from the same schemas that validate the requests.
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.ts';
import { problems } from '../../errors.ts';

/** Register before the routes: the plugin records each route as it is added. */
export async function registerOpenApi(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `${config.appName} account API`, version: '1', description: 'Errors are RFC 9457 problem details (application/problem+json) with a stable `code`.' },
      servers: [{ url: config.baseUrl.href.replace(/\/$/, '') }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'latchkey_session', description: 'The pages\' session cookie (its name per BASE_URL and COOKIE_DOMAIN).' },
        },
        schemas: {
          Problem: {
            type: 'object',
            required: ['type', 'title', 'status', 'detail', 'code'],
            properties: {
              type: { type: 'string' },
              title: { type: 'string' },
              status: { type: 'integer' },
              detail: { type: 'string' },
              code: { type: 'string', enum: Object.keys(problems) },
              errors: { type: 'object', additionalProperties: { type: 'string' }, description: 'Field → message, on 422 only.' },
            },
          },
        },
      },
    },
    // Only the JSON API: pages, assets and the dev mailbox carry no tags.
    hideUntagged: true,
  });

  app.get('/openapi.json', async function openApiDocument() {
    return app.swagger();
  });
}
