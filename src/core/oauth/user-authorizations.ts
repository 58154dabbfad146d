import type { Store } from '../../store/database.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { CredentialCache } from '../auth/credential-cache.ts';
import { isUuid } from '../clock.ts';
import { NotFound } from '../errors.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { OauthScope } from './scopes.ts';

/** A user's consent to an application, as the user sees it. */
export interface UserAuthorization {
  id: string;
  applicationId: string;
  applicationName: string;
  clientId: string;
  scopes: OauthScope[];
  createdAt: string;
  updatedAt: string;
}

const listSpec: ListSpec = {
  filters: { client_id: (query, value) => query.where('oauth_applications.client_id', '=', value) },
  searchColumns: ['oauth_applications.name'],
  orderings: { created_at: 'oauth_authorizations.created_at', updated_at: 'oauth_authorizations.updated_at', application_name: 'oauth_applications.name' },
  defaultOrdering: '-updated_at',
  idColumn: 'oauth_authorizations.id',
};

interface AuthorizationListRow extends Record<string, unknown> {
  id: string;
  application_id: string;
  application_name: string;
  client_id: string;
  scopes: string;
  created_at: string;
  updated_at: string;
}

export type UserAuthorizationService = ReturnType<typeof createUserAuthorizationService>;

/** The applications the calling user has authorized, and taking that back. */
export function createUserAuthorizationService({ store, credentialCache }: { store: Pick<Store, 'db'>; credentialCache: CredentialCache }) {
  const { db } = store;

  const own = (actor: Actor) =>
    db
      .selectFrom('oauth_authorizations')
      .innerJoin('oauth_applications', 'oauth_applications.id', 'oauth_authorizations.application_id')
      .select(['oauth_authorizations.id', 'oauth_authorizations.application_id', 'oauth_authorizations.scopes', 'oauth_authorizations.created_at', 'oauth_authorizations.updated_at'])
      .select(['oauth_applications.name as application_name', 'oauth_applications.client_id'])
      .where('oauth_authorizations.user_id', '=', actor.principal.userId);

  const toAuthorization = (row: AuthorizationListRow): UserAuthorization => ({
    id: row.id,
    applicationId: row.application_id,
    applicationName: row.application_name,
    clientId: row.client_id,
    scopes: JSON.parse(row.scopes) as OauthScope[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<UserAuthorization>> {
    assertAllowed(actor, 'oauth_authorization:read');
    const result = await runList<AuthorizationListRow>(db, own(actor), listSpec, request);
    return { ...result, items: result.items.map(toAuthorization) } as ListResult<UserAuthorization>;
  }

  /** Revokes the consent and every grant and token issued under it; the application must ask again. */
  async function revoke(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'oauth_authorization:write');
    const row = isUuid(id) ? await own(actor).where('oauth_authorizations.id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('oauth_authorization', 'No authorization matches the given query.');
    const grants = await db.selectFrom('oauth_grants').select('id').where('authorization_id', '=', row.id).execute();
    // Foreign keys cascade: the grants, tokens and unexchanged codes issued under it go with it.
    await db.deleteFrom('oauth_authorizations').where('id', '=', row.id).execute();
    credentialCache.forget(new Set(grants.map((g) => g.id)));
  }

  return { list, revoke };
}
