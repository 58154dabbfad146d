import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { trackAllowedMethods, type AllowedMethodsOptions } from './allowed-methods.ts';

/**
 * One API surface: an encapsulated Fastify plugin that owns its whole dialect (routes, error
 * bodies, pagination, versions, credential carriers, field names). The HTTP layer mounts it at
 * `prefix` on the main listener ('' for the root) and, when `port` is set, alone at the root of
 * a listener of its own, so the plugin must build the same routes however often it is called.
 */
export interface Surface {
  /** Lower case; `NIMBUS_<NAME>_PORT` gives it a listener of its own. */
  name: string;
  plugin: FastifyPluginAsync;
  /** Where it answers on the main listener: `/compat/<name>`, or '' for the root. */
  prefix: string;
  port?: number;
  /** A certificate and key: its own listener serves HTTPS with them (the main listener stays as it is). */
  tls?: { cert: Buffer; key: Buffer };
}

export type ErrorRenderer = (error: unknown, request: FastifyRequest, reply: FastifyReply) => void;

/** What a surface says in its own platform's words. */
export interface Dialect extends AllowedMethodsOptions {
  /**
   * Renders every error of the surface: domain errors, the HTTP machinery's refusals and the
   * framework's own (broken JSON, 404, 405, 413, 415, a malformed URL, 500). Start from
   * `interpretError` (http/errors.ts), then write the body.
   */
  renderError: ErrorRenderer;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The error renderer of each surface of this listener, by prefix: errors raised before routing use them. */
    dialects: { prefix: string; renderError: ErrorRenderer }[];
  }
}

/**
 * Makes the surface's scope speak its dialect: its error renderer for everything raised in
 * the scope, its 404 and 405 (with `Allow`) and OPTIONS answers, and its renderer for errors
 * the framework raises before routing (a malformed URL) under its prefix. Called once, at the
 * top of the surface's plugin, before its routes.
 */
export function useDialect(app: FastifyInstance, dialect: Dialect): void {
  app.setErrorHandler(dialect.renderError);
  app.setNotFoundHandler(trackAllowedMethods(app, dialect));
  app.dialects.push({ prefix: app.prefix, renderError: dialect.renderError });
}

/** The renderer of the surface a URL belongs to: the longest prefix that contains it. */
export function dialectFor(app: FastifyInstance, url: string): ErrorRenderer | undefined {
  let found: { prefix: string; renderError: ErrorRenderer } | undefined;
  for (const dialect of app.dialects) {
    const { prefix } = dialect;
    const inside = prefix === '' || url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`);
    if (inside && (!found || prefix.length > found.prefix.length)) found = dialect;
  }
  return found?.renderError;
}

/** `scheme://host` as the client sees it (the Host header, or a trusted proxy's X-Forwarded-Host/-Proto). */
export function baseUrl(request: FastifyRequest): string {
  // A scheme is case-insensitive, and proxies do not all send it in lower case.
  return `${request.protocol.toLowerCase()}://${request.host}`;
}

/**
 * An absolute URL to `path` of the surface whose scope `app` is: under the prefix the request
 * came through on the main listener, at the root on the surface's own listener.
 */
export function surfaceUrl(app: FastifyInstance, request: FastifyRequest, path: string): string {
  return `${baseUrl(request)}${app.prefix}${path}`;
}
