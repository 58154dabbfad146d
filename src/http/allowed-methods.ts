import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFound } from '../core/errors.ts';
import { HttpError } from './errors.ts';

const METHOD_ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export interface AllowedMethodsOptions {
  /** The body of OPTIONS on a known path (a 200); without it, OPTIONS is a 204 carrying `Allow`. */
  optionsBody?: (request: FastifyRequest, allow: string[]) => unknown;
  /** Every response of a known route carries `Allow`, as Django REST framework does. */
  allowOnEveryResponse?: boolean;
}

/**
 * Knows which methods every path of the scope answers, so that a wrong method is a 405 with
 * `Allow` (not a 404) and OPTIONS answers every route. Returns the scope's not-found handler:
 * the 405 and the 404 it throws reach the scope's own error renderer.
 */
export function trackAllowedMethods(app: FastifyInstance, { optionsBody, allowOnEveryResponse = false }: AllowedMethodsOptions = {}) {
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

  if (allowOnEveryResponse) {
    app.addHook('onSend', (request, reply, payload, done) => {
      const allow = request.routeOptions.url ? allowHeader.get(request.routeOptions.url) : undefined;
      if (allow && !reply.hasHeader('allow')) reply.header('allow', allow);
      done(null, payload);
    });
  }

  /** Unmatched requests: OPTIONS on a known path, a wrong method (405) or an unknown path (404). */
  return async function notFound(request: FastifyRequest, reply: FastifyReply) {
    const allow = allowedFor(request.url);
    if (allow) {
      reply.header('allow', allow);
      if (request.method === 'OPTIONS') return optionsBody ? reply.code(200).send(optionsBody(request, allow.split(', '))) : reply.code(204).send();
      throw new HttpError(405, 'method_not_allowed', `Method "${request.method}" not allowed.`);
    }
    throw new NotFound('route', 'Not found.');
  };
}
