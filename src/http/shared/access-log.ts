// The access log: Fastify's two lines per request ("incoming request",
// "request completed"), but at debug for routes marked `quietAccessLog`. A
// reverse proxy asks the authz endpoints before each request of the app it
// protects, so at info every one of that app's requests would log twice here.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Log this route's requests at debug instead of info (errors stay at error). */
    quietAccessLog?: boolean;
  }
}

export class AccessLog extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (!quiet(request)) super.incomingRequest(request, reply);
    else if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error || !quiet(request)) super.requestCompleted(error, request, reply);
    else if (!this.isLogDisabled(request)) reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

function quiet(request: FastifyRequest): boolean {
  return request.routeOptions.config?.quietAccessLog === true;
}
