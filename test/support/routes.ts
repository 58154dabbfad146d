import type { FastifyInstance } from 'fastify';

export interface RegisteredRoute {
  /** The route's pattern as registered, e.g. `/api/iam/organizations/:id/`. */
  url: string;
  methods: string[];
}

/**
 * Every route the server has, read from Fastify's own route tree (`printRoutes`), so that a
 * test covering "every route" covers the ones added later without being told about them.
 */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│\s]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const segment = match[2]!;
    const url = (prefixes[depth - 1] ?? '') + (segment.startsWith('/') || depth === 0 ? segment : `/${segment}`);
    prefixes[depth] = url;
    prefixes.length = depth + 1;
    if (match[3]) routes.push({ url, methods: match[3].split(', ') });
  }
  return routes;
}
