import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { COMPUTE_DEFAULTS, type TrustProxy } from '../config.ts';
import type { CoreServices } from '../core/services.ts';
import type { Store } from '../store/database.ts';
import { nativeSurface } from '../surfaces/native/index.ts';
import { oauthSurface } from '../surfaces/oauth/index.ts';
import { scalewaySurface } from '../surfaces/scaleway/index.ts';
import { createAuthenticator } from './auth.ts';
import { trackAllowedMethods } from './conventions/allowed-methods.ts';
import { addEntityTags } from './conventions/etag.ts';
import { acceptJsonBodiesOnly } from './conventions/json-body.ts';
import { HttpError, renderNativeError } from './errors.ts';
import { createRequestLimits } from './rate-limit.ts';
import { addMetrics } from './metrics.ts';
import { addOpenApi } from './openapi.ts';
import { validatorCompiler } from './validation.ts';

export interface HttpServerOptions {
  store: Store;
  services: CoreServices;
  logger: Logger;
  bodyLimit: number;
  /** Proxies whose X-Forwarded-* headers are believed; none by default. */
  trustProxy?: TrustProxy;
  /** Largest image archive accepted by upload (that route alone takes more than `bodyLimit`). */
  imageUploadLimit?: number;
}

const REQUEST_ID = /^[\w.:-]{1,200}$/;
// A host name or address with an optional port: links and Location headers are built from it.
const HOST = /^(?:[\w.-]+|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

/** The HTTP server: shared conventions first, then every surface. */
export async function buildHttpServer({ store, services, logger, bodyLimit, trustProxy = false, imageUploadLimit = COMPUTE_DEFAULTS.imageUploadLimit }: HttpServerOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // proxy-addr counts hops through a function; addresses and CIDRs it takes as they are.
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
    // One access-log line per request is written in onResponse instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // A caller's X-Request-Id is kept when it is sane, so logs correlate across services.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    },
    forceCloseConnections: 'idle',
    // Errors Fastify raises before routing (a malformed URL) get the same shape and request id as any other.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      renderNativeError(error, request, reply);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  acceptJsonBodiesOnly(app);
  const notFound = trackAllowedMethods(app);
  addEntityTags(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.url.startsWith('/api/')) reply.header('vary', 'Accept');
    // The Host header, or a trusted proxy's X-Forwarded-Host: links are built from it.
    const host = request.host;
    if (host && !HOST.test(host)) throw new HttpError(400, 'invalid_host', `Invalid Host header: "${host.slice(0, 100)}".`);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request');
  });
  app.setErrorHandler(renderNativeError);
  app.setNotFoundHandler(notFound);

  addMetrics(app);
  await addOpenApi(app);

  app.get('/healthz', { config: { auth: false }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { auth: false }, schema: { hide: true } }, async (_request, reply) => {
    try {
      await store.ping();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', detail: 'The database does not answer.' });
    }
  });

  // Rate-limit counts reach the shared table in the background; the last ones on close.
  services.limiter.start((error) => app.log.error({ err: error }, 'rate limit counters could not be saved'));
  app.addHook('onClose', () => services.limiter.stop().catch((error) => app.log.error({ err: error }, 'rate limit counters could not be saved')));
  const limits = createRequestLimits(services.limiter, services.identity);
  await app.register(oauthSurface, { oauth: services.oauth, limits });
  const authenticator = createAuthenticator(services);
  await app.register(nativeSurface, { services, authenticator, limits, imageUploadLimit });
  await app.register(scalewaySurface, { prefix: '/compat/scaleway', services, authenticator, limits });
  return app;
}
