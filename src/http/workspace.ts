import type { FastifyRequest } from 'fastify';

/**
 * Workspace endpoints (Alpacon's `https://<workspace>.<region>.<domain>/api/`): with a base
 * domain configured, a request whose host is `<slug>.<region>.<base domain>` acts in the
 * organization whose slug is `<slug>`. Every listener reads the host once (`request.workspace`);
 * `http/auth.ts` turns it into the organization the actor acts in, for every surface alike.
 */
export interface WorkspaceSettings {
  baseDomain: string;
  region: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The slug of the workspace the request's host names; undefined on any other host. */
    workspace?: string;
  }
  interface FastifyInstance {
    /** Set when workspace endpoints are configured (NIMBUS_BASE_DOMAIN). */
    workspaces: WorkspaceSettings | null;
  }
}

const SLUG_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The workspace slug a host (`name[:port]`, any case) names, if it is `<slug>.<region>.<base domain>`. */
export function workspaceOf(host: string | undefined, settings: WorkspaceSettings | null): string | undefined {
  if (!host || !settings) return undefined;
  const name = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const suffix = `.${settings.region}.${settings.baseDomain}`;
  if (!name.endsWith(suffix)) return undefined;
  const slug = name.slice(0, -suffix.length);
  return SLUG_LABEL.test(slug) ? slug : undefined;
}

/** A workspace's URL, in the scheme the request came with (HTTPS behind a trusted TLS proxy). */
export function workspaceUrl(request: FastifyRequest, slug: string): string | null {
  const settings = request.server.workspaces;
  return settings ? `${request.protocol}://${slug}.${settings.region}.${settings.baseDomain}` : null;
}
