import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFound } from '../../core/errors.ts';
import { HttpError } from '../errors.ts';

const METHOD_ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** The body of an OPTIONS answer on a path, given the methods it allows. */
export type OptionsBody = (path: string, allow: string[]) => unknown;

/** DRF's OPTIONS body (the native API's). */
const drfOptions: OptionsBody = (path, allow) => ({ name: path, renders: ['application/json'], parses: ['application/json'], allow });

/**
 * Knows which methods every path answers, so that a wrong method is a 405 with `Allow`
 * (not a 404), OPTIONS answers every route, and every response carries `Allow` as DRF does.
 * A surface tracks its own routes (in its own scope) and says what its OPTIONS answers hold.
 */
export function trackAllowedMethods(app: FastifyInstance, optionsBody: OptionsBody = drfOptions) {
  const router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 500 });
  const byRoute = new Map<string, Set<string>>();
  const allowHeader = new Map<string, string>();

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (!byRoute.has(route.url)) byRoute.set(route.url, new Set(['OPTIONS']));
      const known = byRoute.get(route.url)!;
      if (!known.has(method)) {
        known.add(method);
        if (method !== 'OPTIONS') router.on(method as HTTPMethod, route.url, () => undefined);
      }
      allowHeader.set(route.url, METHOD_ORDER.filter((m) => known.has(m)).join(', '));
    }
  });

  function allowedFor(url: string): string | null {
    const path = url.split('?')[0]!;
    const methods = METHOD_ORDER.filter((m) => m !== 'OPTIONS' && router.find(m as HTTPMethod, path));
    return methods.length ? [...methods, 'OPTIONS'].join(', ') : null;
  }

  app.addHook('onSend', async (request, reply) => {
    const allow = request.routeOptions.url ? allowHeader.get(request.routeOptions.url) : undefined;
    if (allow && !reply.hasHeader('allow')) reply.header('allow', allow);
  });

  /** Unmatched requests: OPTIONS on a known path, a wrong method (405) or an unknown path (404). */
  return async function notFound(request: FastifyRequest, reply: FastifyReply) {
    const allow = allowedFor(request.url);
    if (allow) {
      reply.header('allow', allow);
      if (request.method === 'OPTIONS') {
        return reply.code(200).send(optionsBody(request.url.split('?')[0]!, allow.split(', ')));
      }
      throw new HttpError(405, 'method_not_allowed', `Method "${request.method}" not allowed.`);
    }
    throw new NotFound('route', 'Not found.');
  };
}
