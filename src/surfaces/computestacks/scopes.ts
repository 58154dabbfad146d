import type { FastifyInstance } from 'fastify';
import { scopesAllow, type Actor } from '../../core/actor.ts';
import { PermissionDenied } from '../../core/errors.ts';
import { OAUTH_SCOPES, type OauthScope } from '../../core/oauth/scopes.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The ComputeStacks OAuth scope a route requires (`doorkeeper_authorize!`). */
    computestacksScope?: OauthScope;
  }
}

/**
 * Whether a caller's credential carries a ComputeStacks scope: every permission the scope stands
 * for is within the credential's scopes (a `*_write` scope carries its `*_read`). `public` is
 * what any user's credential may see; a client acting for itself needs it by name.
 */
export function carriesScope(actor: Actor, scope: OauthScope): boolean {
  const { principal } = actor;
  if (scope === 'public' && principal.userId !== '') return true;
  return (ROUTE_PERMISSIONS[scope] ?? OAUTH_SCOPES[scope].permissions).every((permission) => scopesAllow(principal.scopes, permission));
}

/**
 * What a route of this surface requires where ComputeStacks' scope means something other than
 * core's name: its `register` creates users (core's `user:write`, and the credentials it hands
 * them), not core's `server:register` (enrolling a machine).
 */
const ROUTE_PERMISSIONS: Partial<Record<OauthScope, readonly string[]>> = { register: ['user:write', 'role:write', 'credential:write'] };

export function assertScope(actor: Actor, scope: OauthScope): void {
  if (!carriesScope(actor, scope)) throw new PermissionDenied(`This token does not carry the ${scope} scope.`, 'insufficient_scope');
}

/** Every authenticated route names its scope: one left out is a mistake found at start-up, not an open door. */
export function requireDeclaredScopes(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.config?.auth === false || route.method === 'HEAD' || (Array.isArray(route.method) && route.method.every((m) => m === 'HEAD'))) return;
    if (!route.config?.computestacksScope) throw new Error(`ComputeStacks route ${String(route.method)} ${route.url} names no OAuth scope`);
  });
}
