import { PermissionDenied } from './errors.ts';

/** Who is calling, resolved once from any auth carrier by the surface. */
export interface Principal {
  userId: string;
  username: string;
  /** The organization the credential belongs to. */
  organizationId: string;
  /** That organization's materialized path. */
  organizationPath: string;
  isSuperuser: boolean;
  isStaff: boolean;
  /** The credential's id (an API token, a session...), for audit and revocation. */
  credentialId: string;
  /** `resource:action` scopes the credential carries; `*` is everything the user has. */
  scopes: readonly string[];
}

/**
 * A principal acting in one organization for one request. Every core service call receives
 * it explicitly: services never see a request.
 */
export interface Actor {
  principal: Principal;
  /** The organization this request acts in. */
  organizationId: string;
  /** Its materialized path (`/root/.../self/`): the acting subtree is one prefix match. */
  organizationPath: string;
  requestId: string;
}

/** Whether a scope list grants `resource:action` (`*`, `resource:*` and exact entries). */
export function scopesAllow(scopes: readonly string[], permission: string): boolean {
  const [resource] = permission.split(':');
  return scopes.some((s) => s === '*' || s === permission || s === `${resource}:*`);
}

export function assertAllowed(actor: Actor, permission: string): void {
  if (!scopesAllow(actor.principal.scopes, permission)) {
    throw new PermissionDenied(`This credential's scopes do not include "${permission}".`, 'scope_not_allowed');
  }
}
