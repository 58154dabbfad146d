import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { TrustProxy } from '../config.ts';
import { HttpError, renderPlainError } from './errors.ts';
import { createHttpMetrics, type HttpMetrics } from './metrics.ts';
import { dialectFor, type Surface } from './surface.ts';
import { requestLoggerFactory } from './request-logger.ts';
import { serializersOnFirstUse, validatorsOnFirstUse } from './schema-compilers.ts';
import { validatorCompiler } from './validation.ts';
import { workspaceOf, type WorkspaceSettings } from './workspace.ts';

export interface ListenerOptions {
  /** The mount table: every surface at its prefix on the main listener, and at the root of its own port when it has one. */
  surfaces: Surface[];
  logger: Logger;
  bodyLimit: number;
  /** Proxies whose X-Forwarded-* headers are believed; none by default. */
  trustProxy?: TrustProxy;
  /** Workspace endpoints: hosts `<slug>.<region>.<base domain>` act in the organization of that slug. */
  workspaces?: WorkspaceSettings;
  /** Throws when this process cannot serve (its database does not answer): `/readyz` is then a 503. */
  checkReady: () => Promise<void>;
}

export interface Listeners {
  /** Every surface at its prefix, with `/healthz`, `/readyz` and `/metrics`. */
  main: FastifyInstance;
  /** One per surface that has a port, serving that surface alone at its root. */
  own: { surface: Surface; app: FastifyInstance }[];
  /** Starts every listener (each surface's own on its port, on the same host); the main one's address. */
  listen(host: string, port: number): Promise<string>;
  /** Lets in-flight requests finish and closes every listener. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[\w.:-]{1,200}$/;
// A host name or address with an optional port: links and Location headers are built from it.
const HOST = /^(?:[\w.-]+|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

/** One Fastify instance per listener, each with the machinery every surface shares, then the surfaces. */
export async function buildListeners(options: ListenerOptions): Promise<Listeners> {
  const metrics = createHttpMetrics();
  const main = await createListener(options, metrics);
  main.get('/healthz', async () => ({ status: 'ok' }));
  main.get('/readyz', async (_request, reply) => {
    try {
      await options.checkReady();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', detail: 'The database does not answer.' });
    }
  });
  metrics.serve(main);
  for (const surface of options.surfaces) await main.register(surface.plugin, { prefix: surface.prefix });

  const own: Listeners['own'] = [];
  for (const surface of options.surfaces.filter((s) => s.port !== undefined)) {
    const app = await createListener(options, metrics, surface.tls);
    await app.register(surface.plugin);
    own.push({ surface, app });
  }
  const all = [main, ...own.map((o) => o.app)];
  const close = async () => void (await Promise.all(all.map((app) => app.close())));
  return {
    main,
    own,
    async listen(host, port) {
      try {
        const address = await main.listen({ host, port });
        for (const { surface, app } of own) await app.listen({ host, port: surface.port });
        return address;
      } catch (error) {
        await close();
        throw error;
      }
    },
    close,
  };
}

/**
 * WebSocket routes (a route's `wsHandler`) for every surface of a listener: the upgrade is
 * taken once per server, so it is installed here rather than by each surface. A frame is at
 * most one paste of terminal input.
 */
async function acceptWebSockets(app: FastifyInstance): Promise<void> {
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
}

const TUNNEL = Symbol('tunnel');
type TunnelRequest = IncomingMessage & { [TUNNEL]?: { socket: Duplex; head: Buffer } };

/** The raw connection of a `CONNECT` request, for the route that takes it over (`reply.hijack()`). */
export const tunnelOf = (request: FastifyRequest): { socket: Duplex; head: Buffer } | undefined => (request.raw as TunnelRequest)[TUNNEL];

/**
 * `CONNECT` routes (`app.route({ method: 'CONNECT' })`) for every surface of a listener: Node
 * hands such a request over apart from the others, once per server, so it is routed here
 * through the surfaces' hooks (their authentication) like any request. A refusal is answered on
 * the connection, which then ends: after a `CONNECT` it is no HTTP connection any more.
 */
function acceptTunnels(app: FastifyInstance): void {
  app.addHttpMethod('CONNECT');
  app.server.on('connect', (raw: TunnelRequest, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    raw[TUNNEL] = { socket, head };
    const response = new ServerResponse(raw);
    response.assignSocket(socket as Socket);
    response.on('finish', () => socket.end());
    app.routing(raw, response);
  });
}

/** Whether access lines are written at all: below `info` nothing of them is built. */
const logsRequests = (log: FastifyBaseLogger) => (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled?.('info') ?? true;

async function createListener({ logger, bodyLimit, trustProxy = false, workspaces }: ListenerOptions, metrics: HttpMetrics, tls?: Surface['tls']): Promise<FastifyInstance> {
  // An HTTPS listener is the same instance over another server: the surfaces never see the difference.
  const app = Fastify({
    ...(tls ? { https: tls } : {}),
    loggerInstance: logger as FastifyBaseLogger,
    childLoggerFactory: requestLoggerFactory,
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
    schemaController: serializersOnFirstUse,
    // Errors Fastify raises before routing (a malformed URL) are rendered by the surface the URL belongs to.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      (dialectFor(app, request.url) ?? renderPlainError)(error, request, reply as FastifyReply);
    },
  }) as unknown as FastifyInstance;
  app.decorate('dialects', []);
  app.decorate('workspaces', workspaces ?? null);
  app.setErrorHandler(renderPlainError);
  app.setValidatorCompiler(validatorsOnFirstUse(validatorCompiler));
  // Hooks that do not wait for anything call `done` rather than being async: on every request,
  // a promise per hook is a cost the profile shows.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // The Host header, or a trusted proxy's X-Forwarded-Host: links are built from it.
    const host = request.host;
    if (host && !HOST.test(host)) throw new HttpError(400, 'invalid_host', `Invalid Host header: "${host.slice(0, 100)}".`);
    request.workspace = workspaceOf(host, workspaces ?? null);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (logsRequests(request.log)) {
      request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request');
    }
    done();
  });
  metrics.observe(app);
  await acceptWebSockets(app);
  acceptTunnels(app);
  return app;
}
