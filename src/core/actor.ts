import { PermissionDenied } from './errors.ts';
import { nimbusScopes } from './iam/permissions.ts';

/** How the principal proved who it is. */
export type CredentialKind = 'personal' | 'session' | 'api_key' | 'bearer' | 'api_credential' | 'oauth' | 'account';

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
  /** The credential's id (an API token, a session, an API credential; a bearer's parent token), for audit and revocation. */
  credentialId: string;
  credentialKind: CredentialKind;
  /** `resource:action` scopes the credential carries; `*` is everything the user has. */
  scopes: readonly string[];
  /**
   * The personal token whose ACL rules bind this credential (the token itself, or the token a
   * bearer was exchanged from): its commands, servers and paths are deny-by-default.
   */
  aclTokenId?: string;
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
  /**
   * The effective permissions of this request, computed once at authentication: the user's
   * roles on the acting organization and its ancestors, intersected with the credential's scopes.
   */
  permissions: ReadonlySet<string>;
  requestId: string;
  /** The client's network address, for audit and throttling. */
  clientAddress: string;
  /**
   * Resolves the caller again from the credential it presented, as the request itself did:
   * requests that stay open call it (see long-requests.ts) so that a revoked credential, a
   * removed role or a deactivated user ends them. Absent for actors made without a request.
   */
  reauthenticate?: () => Promise<Actor>;
}

/** Whether a scope list grants `resource:action` (`*`, `resource:*`, `*:action` and exact entries). */
export function scopesAllow(scopes: readonly string[], permission: string): boolean {
  const [resource, action] = permission.split(':');
  return scopes.flatMap(nimbusScopes).some((s) => s === '*' || s === permission || s === `${resource}:*` || s === `*:${action}`);
}

export function assertAllowed(actor: Actor, permission: string): void {
  if (actor.permissions.has(permission)) return;
  if (!scopesAllow(actor.principal.scopes, permission)) {
    throw new PermissionDenied(`This token's scopes do not include "${permission}".`, 'api_token_acl_not_allowed');
  }
  throw new PermissionDenied(`Your role in this organization does not allow "${permission}".`, 'permission_denied');
}

/**
 * For a caller's own credentials (its tokens, its API credentials): the role does not matter,
 * but a narrowly scoped token must not manage credentials unless its scopes say so.
 */
export function assertScope(actor: Actor, permission: string): void {
  if (!scopesAllow(actor.principal.scopes, permission)) {
    throw new PermissionDenied(`This token's scopes do not include "${permission}".`, 'api_token_acl_not_allowed');
  }
}

/**
 * A credential bound by a token ACL may not mint a credential no ACL binds (an API credential, an
 * API key): that would leave its ACL behind. Tokens it creates inherit its ACL instead.
 */
export function assertNotAclBound(actor: Actor, what: string): void {
  if (actor.principal.aclTokenId) throw new PermissionDenied(`A token bound by ACL rules cannot ${what}: sign in with a password to do so.`, 'api_token_acl_not_allowed');
}
