import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../../store/database.ts';
import type { ApiCredentialRow } from '../../store/schema.ts';
import { assertAllowed, assertNotAclBound, assertScope, type Actor, type Principal } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, Unauthenticated, ValidationFailed } from '../errors.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { TtlCache } from '../ttl-cache.ts';
import { generateToken, hashToken, parseToken } from '../tokens/token-format.ts';
import type { TokenService } from '../tokens/token-service.ts';
import type { RoleBindingService } from '../iam/role-binding-service.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';
import { revokeGrantsIssuedFrom } from '../oauth/oauth-server.ts';
import type { CredentialCache } from '../auth/credential-cache.ts';

const CACHE_TTL_MS = 2_000;

export interface ApiCredential {
  id: string;
  userId: string;
  username: string;
  /** What the pair may do: the scopes of the credential that generated it. */
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
}

const listSpec: ListSpec = {
  filters: {},
  searchColumns: ['username'],
  orderings: { created_at: 'created_at' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

const toCredential = (row: ApiCredentialRow): ApiCredential => ({
  id: row.id,
  userId: row.user_id,
  username: row.username,
  scopes: JSON.parse(row.scopes) as string[],
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export type CredentialService = ReturnType<typeof createCredentialService>;

/**
 * API credentials (ComputeStacks' model): a generated username/password pair per user for HTTP
 * Basic, distinct from the login password. Generating a new pair revokes the previous one and
 * every token that was issued with it (API tokens and OAuth password grants).
 */
export function createCredentialService(deps: { store: Pick<Store, 'db'>; tokens: TokenService; audit: AuditService; roleBindings: RoleBindingService; credentialCache: CredentialCache }) {
  const { db } = deps.store;
  const { tokens, audit, roleBindings, credentialCache } = deps;
  const verified = new TtlCache<string, Principal>(CACHE_TTL_MS);

  const own = (actor: Actor) => db.selectFrom('api_credentials').selectAll().where('user_id', '=', actor.principal.userId);

  /** Revokes one pair and everything issued with it (API tokens, OAuth password grants). */
  async function revokeOne(actor: Actor, id: string): Promise<void> {
    await db.updateTable('api_credentials').set({ revoked_at: nowIso() }).where('id', '=', id).execute();
    await tokens.revokeIssuedFrom(id);
    await revokeGrantsIssuedFrom(db, credentialCache, id);
    await audit.recordFor(actor, { action: 'credential_revoked', targetType: 'credential', targetId: id });
  }

  async function revokePairsOf(userId: string, actor: Actor): Promise<void> {
    const live = await db.selectFrom('api_credentials').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
    for (const { id } of live) await revokeOne(actor, id);
    verified.deleteWhere((_key, principal) => principal.userId === userId);
  }

  /**
   * A new pair for the caller, or (with `credential:write`) for a user of the acting organization
   * whom the caller may manage. The pair carries the caller's own scopes: what a credential
   * creates is never worth more than that credential.
   */
  async function generate(actor: Actor, input: { userId?: string }): Promise<{ credential: ApiCredential; password: string }> {
    assertScope(actor, 'credential:write');
    assertNotAclBound(actor, 'create API credentials');
    let user = { id: actor.principal.userId, organization_id: actor.principal.organizationId };
    if (input.userId !== undefined && input.userId !== actor.principal.userId) {
      assertAllowed(actor, 'credential:write');
      const found = isUuid(input.userId)
        ? await db
            .selectFrom('users')
            .select(['id', 'organization_id'])
            .where('id', '=', input.userId)
            .where('organization_id', 'in', organizationIdsUnder(db, actor.organizationPath))
            .executeTakeFirst()
        : undefined;
      if (!found) throw ValidationFailed.field('userId', `Invalid pk "${input.userId}" - object does not exist.`);
      await roleBindings.assertMayManage(actor, found.id);
      user = found;
    }
    await revokePairsOf(user.id, actor);
    const password = generateToken('credential');
    const row: ApiCredentialRow = {
      id: newId(),
      user_id: user.id,
      organization_id: user.organization_id,
      username: `nbu_${randomBytes(12).toString('hex')}`,
      secret_hash: hashToken(password),
      scopes: JSON.stringify(actor.principal.scopes),
      created_at: nowIso(),
      revoked_at: null,
    };
    await db.insertInto('api_credentials').values(row).execute();
    await audit.recordFor(actor, { action: 'credential_created', targetType: 'credential', targetId: row.id, detail: { user: user.id } });
    return { credential: toCredential(row), password };
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<ApiCredential>> {
    assertScope(actor, 'credential:read');
    const result = await runList<ApiCredentialRow>(db, own(actor), listSpec, request);
    return { ...result, items: result.items.map(toCredential) } as ListResult<ApiCredential>;
  }

  async function findOwn(actor: Actor, id: string): Promise<ApiCredentialRow> {
    const row = isUuid(id) ? await own(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('credential', 'No credential matches the given query.');
    return row;
  }

  async function get(actor: Actor, id: string): Promise<ApiCredential> {
    assertScope(actor, 'credential:read');
    return toCredential(await findOwn(actor, id));
  }

  async function revoke(actor: Actor, id: string): Promise<void> {
    assertScope(actor, 'credential:write');
    const row = await findOwn(actor, id);
    if (row.revoked_at) return;
    await revokeOne(actor, row.id);
    verified.deleteWhere((_key, principal) => principal.credentialId === row.id);
  }

  /** HTTP Basic with an API credential. Every failure reads the same. */
  async function authenticate(username: string, password: string): Promise<Principal> {
    const failed = new Unauthenticated('Invalid username/password.', 'authentication_failed');
    if (parseToken(password) !== 'credential') throw failed;
    const hash = hashToken(password);
    const cacheKey = `${username} ${hash}`;
    const cached = verified.get(cacheKey);
    if (cached) return cached;
    const row = await pairQuery().where('api_credentials.username', '=', username).executeTakeFirst();
    if (!row || row.revoked_at || !row.is_active || !timingSafeEqual(Buffer.from(row.secret_hash), Buffer.from(hash))) throw failed;
    const principal = principalOf(row);
    verified.set(cacheKey, principal);
    return principal;
  }

  /**
   * The principal behind the pair with this id while it stands (not revoked, its user active):
   * for what holds a credential's id past the request that presented it (an event channel's socket).
   */
  async function principalById(id: string): Promise<Principal> {
    const cacheKey = `id:${id}`;
    const cached = verified.get(cacheKey);
    if (cached) return cached;
    const row = isUuid(id) ? await pairQuery().where('api_credentials.id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new Unauthenticated('Invalid username/password.', 'authentication_failed');
    if (row.revoked_at) throw new Unauthenticated('The API credential has been revoked.', 'token_revoked');
    if (!row.is_active) throw new Unauthenticated('User inactive or deleted.', 'authentication_failed');
    const principal = principalOf(row);
    verified.set(cacheKey, principal);
    return principal;
  }

  const pairQuery = () =>
    db
      .selectFrom('api_credentials')
      .innerJoin('users', 'users.id', 'api_credentials.user_id')
      .innerJoin('organizations', 'organizations.id', 'api_credentials.organization_id')
      .select(['api_credentials.id', 'api_credentials.secret_hash', 'api_credentials.scopes', 'api_credentials.revoked_at', 'api_credentials.organization_id', 'users.id as user_id', 'users.username', 'users.is_active', 'users.is_staff', 'users.is_superuser', 'organizations.path']);

  function principalOf(row: NonNullable<Awaited<ReturnType<ReturnType<typeof pairQuery>['executeTakeFirst']>>>): Principal {
    return {
      userId: row.user_id,
      username: row.username,
      organizationId: row.organization_id,
      organizationPath: row.path,
      isSuperuser: row.is_superuser === 1,
      isStaff: row.is_staff === 1,
      credentialId: row.id,
      credentialKind: 'api_credential',
      scopes: JSON.parse(row.scopes) as string[],
    };
  }

  return { generate, list, get, revoke, authenticate, principalById };
}
