// The stylesheet and the tab icon: static files every page links.
import type { FastifyInstance } from 'fastify';
import type { Pages } from '../context.ts';
import { queryValue } from '../forms.ts';

export function assetRoutes(app: FastifyInstance, pages: Pages): void {
  const { css, href } = pages.renderer.stylesheet;
  const version = new URL(href, 'http://x').searchParams.get('v');
  app.get('/assets/style.css', async function stylesheet(request, reply) {
    // The layout links it with its content hash, so that URL can be cached for good.
    const current = queryValue(request, 'v') === version;
    return reply.type('text/css; charset=utf-8').header('cache-control', current ? 'public, max-age=31536000, immutable' : 'no-cache').send(css);
  });

  // The brand mark as the tab icon; BRAND_COLOR is a checked hex colour, safe to write into the SVG.
  const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="4" fill="${pages.config.brandColor}"/></svg>`;
  app.get('/assets/icon.svg', async function favicon(_request, reply) {
    return reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(icon);
  });
}
