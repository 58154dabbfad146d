import { createHash, timingSafeEqual } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { Database, OauthTokenRow } from '../../store/schema.ts';
import type { Principal } from '../actor.ts';
import type { CredentialCache } from '../auth/credential-cache.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Unauthenticated } from '../errors.ts';
import { permissionsBeyond } from '../iam/permissions.ts';
import { generateToken, hashToken, parseToken } from '../tokens/token-format.ts';
import type { OauthApplication, OauthApplicationService } from './application-service.ts';
import { OauthError } from './oauth-errors.ts';
import type { OauthSettingsService } from './organization-settings.ts';
import { matchesRegisteredRedirect } from './redirect-uris.ts';
import { CLIENT_CREDENTIALS_SCOPES, oauthPermissions, parseScopeString, type OauthScope } from './scopes.ts';

export const ACCESS_TOKEN_SECONDS = 3600;
export const REFRESH_TOKEN_SECONDS = 30 * 24 * 3600;
export const CODE_SECONDS = 60;
/** Used and expired codes are kept this long (reuse of a used code must still be recognised). */
const CODE_RETENTION_MS = 10 * 60_000;

const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const PKCE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** The parameters of a request to the authorization endpoint, as received. */
export interface AuthorizationParams {
  response_type?: string;
  client_id?: string;
  redirect_uri?: string;
  scope?: string;
  state?: string;
  code_challenge?: string;
  code_challenge_method?: string;
}

/** An authorization request that passed every check: what the consent page asks the user to approve. */
export interface AuthorizationRequest {
  application: OauthApplication;
  redirectUri: string;
  scopes: OauthScope[];
  state: string | undefined;
  codeChallenge: string | null;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

export type TokenParams = Record<string, string | undefined>;

export type IntrospectionResponse =
  | { active: false }
  | { active: true; scope: string; client_id: string; token_type: string; exp: number; iat: number; sub?: string; username?: string };

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();
const pkceChallengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export type OauthServer = ReturnType<typeof createOauthServer>;

/** The OAuth 2 authorization server: codes with PKCE, token issuance and rotation, revocation, introspection. */
export function createOauthServer({
  store,
  applications,
  settings,
  verifyApiCredential,
  credentialCache,
}: {
  store: Pick<Store, 'db'>;
  applications: OauthApplicationService;
  settings: Pick<OauthSettingsService, 'passwordGrantEnabled' | 'pkceOptionalForConfidential'>;
  /** Checks an API credential pair (HTTP Basic's), throwing `Unauthenticated` when it is not live. */
  verifyApiCredential: (username: string, password: string) => Promise<Principal>;
  /** Access tokens are verified through it, like every other token. */
  credentialCache: CredentialCache;
}) {
  const { db } = store;

  /** Ends a grant and every token of it, forgetting them at once on this replica (others follow within the cache's lifetime). */
  async function endGrant(grantId: string): Promise<void> {
    await revokeGrant(db, grantId);
    credentialCache.forget(new Set([grantId]));
  }

  /**
   * The client and redirect URI of an authorization request. When either is wrong the user
   * must be told on the server's own page: redirecting would send them to an unverified URI.
   */
  async function resolveClient(params: AuthorizationParams): Promise<{ application: OauthApplication; redirectUri: string }> {
    if (!params.client_id) throw new OauthError('invalid_request', 'The request has no client_id.');
    const application = await applications.findByClientId(params.client_id);
    if (!application) throw new OauthError('invalid_client', 'No application has this client_id.');
    if (!params.redirect_uri) throw new OauthError('invalid_request', 'The request has no redirect_uri.');
    if (!matchesRegisteredRedirect(application.redirectUris, params.redirect_uri)) {
      throw new OauthError('invalid_request', 'The redirect_uri does not match any URI registered for this application.');
    }
    return { application, redirectUri: params.redirect_uri };
  }

  /** Every other check of an authorization request; its errors go back to the client's redirect URI. */
  async function checkAuthorizationRequest(client: { application: OauthApplication; redirectUri: string }, params: AuthorizationParams): Promise<AuthorizationRequest> {
    const { application } = client;
    if (params.response_type !== 'code') {
      throw new OauthError('unsupported_response_type', 'Only response_type=code is supported (the implicit grant is not offered).');
    }
    const scopes = requestedScopes(params.scope, application.scopes);
    let codeChallenge: string | null = null;
    if (params.code_challenge !== undefined || params.code_challenge_method !== undefined) {
      if (params.code_challenge_method !== 'S256') throw new OauthError('invalid_request', 'code_challenge_method must be S256 ("plain" is not accepted).');
      if (!params.code_challenge || !PKCE_CHALLENGE.test(params.code_challenge)) {
        throw new OauthError('invalid_request', 'code_challenge must be the base64url SHA-256 of the code verifier (43 characters).');
      }
      codeChallenge = params.code_challenge;
    } else if (application.clientType === 'public' || !(await settings.pkceOptionalForConfidential(application.organizationId))) {
      // RFC 9700: PKCE for every client, unless the application's organization lets its confidential clients go without.
      throw new OauthError('invalid_request', 'PKCE is required: send code_challenge and code_challenge_method=S256.');
    }
    return { ...client, scopes, state: params.state, codeChallenge };
  }

  /** Requested scopes, each allowed to the application; `public` when none is named and it is allowed. */
  function requestedScopes(scope: string | undefined, allowed: readonly OauthScope[]): OauthScope[] {
    const { scopes, unknown } = parseScopeString(scope ?? '');
    if (unknown.length) throw new OauthError('invalid_scope', `Unknown scope(s): ${unknown.join(', ')}.`);
    if (scopes.length === 0) {
      if (allowed.includes('public')) return ['public'];
      throw new OauthError('invalid_scope', 'Request at least one scope.');
    }
    const refused = scopes.filter((s) => !allowed.includes(s));
    if (refused.length) throw new OauthError('invalid_scope', `This application may not request: ${refused.join(', ')}.`);
    return scopes;
  }

  /** Records (or refreshes) a user's consent to an application, which the user can list and revoke. */
  async function recordAuthorization(trx: Transaction<Database>, userId: string, applicationId: string, approved: OauthScope[]): Promise<string> {
    const now = nowIso();
    const scopes = JSON.stringify(approved);
    const existing = await trx.selectFrom('oauth_authorizations').select('id').where('user_id', '=', userId).where('application_id', '=', applicationId).executeTakeFirst();
    if (existing) {
      await trx.updateTable('oauth_authorizations').set({ scopes, updated_at: now }).where('id', '=', existing.id).execute();
      return existing.id;
    }
    const id = newId();
    await trx.insertInto('oauth_authorizations').values({ id, user_id: userId, application_id: applicationId, scopes, created_at: now, updated_at: now }).execute();
    return id;
  }

  /** The user approved: records their consent and issues a single-use code for the client. */
  async function approve(request: AuthorizationRequest, userId: string): Promise<string> {
    const code = generateToken('oauth_code');
    const now = nowIso();
    const scopes = JSON.stringify(request.scopes);
    await db.transaction().execute(async (trx) => {
      const authorizationId = await recordAuthorization(trx, userId, request.application.id, request.scopes);
      await trx.deleteFrom('oauth_codes').where('expires_at', '<', new Date(Date.now() - CODE_RETENTION_MS).toISOString()).execute();
      await trx
        .insertInto('oauth_codes')
        .values({
          id: newId(),
          code_hash: hashToken(code),
          application_id: request.application.id,
          user_id: userId,
          authorization_id: authorizationId,
          redirect_uri: request.redirectUri,
          scopes,
          code_challenge: request.codeChallenge,
          expires_at: inSeconds(CODE_SECONDS),
          used_at: null,
          grant_id: null,
          created_at: now,
        })
        .execute();
    });
    return code;
  }

  /** The token endpoint, for an authenticated client. */
  async function issue(client: OauthApplication, params: TokenParams): Promise<TokenResponse> {
    switch (params.grant_type) {
      case 'authorization_code':
        return exchangeCode(client, params);
      case 'refresh_token':
        return refresh(client, params);
      case 'client_credentials':
        return clientCredentials(client, params);
      case 'password':
        return passwordGrant(client, params);
      case undefined:
        throw new OauthError('invalid_request', 'The request has no grant_type.');
      default:
        throw new OauthError('unsupported_grant_type', `grant_type "${params.grant_type}" is not supported; use authorization_code, refresh_token, client_credentials or password.`);
    }
  }

  async function exchangeCode(client: OauthApplication, params: TokenParams): Promise<TokenResponse> {
    if (!params.code) throw new OauthError('invalid_request', 'The request has no code.');
    if (!params.redirect_uri) throw new OauthError('invalid_request', 'The request has no redirect_uri.');
    const invalid = new OauthError('invalid_grant', 'The authorization code is invalid, expired or already used.');
    if (parseToken(params.code) !== 'oauth_code') throw invalid;
    const row = await db.selectFrom('oauth_codes').selectAll().where('code_hash', '=', hashToken(params.code)).executeTakeFirst();
    if (!row || row.application_id !== client.id) throw invalid;
    if (row.used_at) {
      // A code presented twice was intercepted or replayed: whatever it produced is revoked.
      if (row.grant_id) await endGrant(row.grant_id);
      throw new OauthError('invalid_grant', 'The authorization code was already used; the tokens issued for it have been revoked.');
    }
    if (Date.parse(row.expires_at) <= Date.now()) throw new OauthError('invalid_grant', 'The authorization code has expired.');
    if (row.redirect_uri !== params.redirect_uri) throw new OauthError('invalid_grant', 'redirect_uri differs from the one in the authorization request.');
    if (row.code_challenge) {
      if (!params.code_verifier) throw new OauthError('invalid_grant', 'code_verifier is required: the authorization request used PKCE.');
      if (!PKCE_VERIFIER.test(params.code_verifier)) throw new OauthError('invalid_grant', 'code_verifier must be 43 to 128 characters of [A-Za-z0-9._~-].');
      if (!timingSafeEqual(Buffer.from(pkceChallengeOf(params.code_verifier)), Buffer.from(row.code_challenge))) {
        throw new OauthError('invalid_grant', 'code_verifier does not match the code_challenge.');
      }
    } else if (params.code_verifier !== undefined) {
      // RFC 9700 section 4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
      throw new OauthError('invalid_grant', 'code_verifier was sent but the authorization request had no code_challenge.');
    }
    const scopes = JSON.parse(row.scopes) as OauthScope[];
    return db.transaction().execute(async (trx) => {
      const grantId = newId();
      const claimed = await trx.updateTable('oauth_codes').set({ used_at: nowIso(), grant_id: grantId }).where('id', '=', row.id).where('used_at', 'is', null).executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw invalid;
      await trx
        .insertInto('oauth_grants')
        .values({ id: grantId, application_id: client.id, user_id: row.user_id, authorization_id: row.authorization_id, grant_type: 'authorization_code', scopes: row.scopes, api_credential_id: null, revoked_at: null, created_at: nowIso() })
        .execute();
      return issueTokens(trx, grantId, scopes, scopes, { withRefresh: true });
    });
  }

  async function refresh(client: OauthApplication, params: TokenParams): Promise<TokenResponse> {
    if (!params.refresh_token) throw new OauthError('invalid_request', 'The request has no refresh_token.');
    const invalid = new OauthError('invalid_grant', 'The refresh token is invalid, expired or revoked.');
    if (parseToken(params.refresh_token) !== 'oauth_refresh') throw invalid;
    const row = await findClientToken(client, params.refresh_token);
    if (!row || row.kind !== 'refresh' || row.revoked_at || row.grant_revoked_at || row.is_active !== 1) throw invalid;
    if (Date.parse(row.expires_at) <= Date.now()) throw invalid;
    if (row.rotated_at) return refuseReuse(row.grant_id);
    const granted = JSON.parse(row.scopes) as OauthScope[];
    const scopes = params.scope === undefined ? granted : requestedScopes(params.scope, granted);
    const issued = await db.transaction().execute(async (trx) => {
      const claimed = await trx.updateTable('oauth_tokens').set({ rotated_at: nowIso() }).where('id', '=', row.id).where('rotated_at', 'is', null).executeTakeFirst();
      return Number(claimed.numUpdatedRows) === 1 ? issueTokens(trx, row.grant_id, scopes, granted, { withRefresh: true }) : null;
    });
    // Another request rotated it first: this is the same token used twice.
    return issued ?? refuseReuse(row.grant_id);
  }

  /** A rotated refresh token came back: it leaked, so the whole grant ends (RFC 9700 section 4.14.2). */
  async function refuseReuse(grantId: string): Promise<never> {
    await endGrant(grantId);
    throw new OauthError('invalid_grant', 'The refresh token was already used; every token of this grant has been revoked.');
  }

  async function clientCredentials(client: OauthApplication, params: TokenParams): Promise<TokenResponse> {
    if (client.clientType !== 'confidential') throw new OauthError('unauthorized_client', 'A public client cannot use client_credentials.');
    const scopes = requestedScopes(params.scope ?? 'public', client.scopes);
    if (scopes.some((s) => !CLIENT_CREDENTIALS_SCOPES.includes(s))) {
      throw new OauthError('invalid_scope', 'client_credentials grants only the public scope: the application acts for no user.');
    }
    return db.transaction().execute(async (trx) => {
      const grantId = newId();
      await trx
        .insertInto('oauth_grants')
        .values({ id: grantId, application_id: client.id, user_id: null, authorization_id: null, grant_type: 'client_credentials', scopes: JSON.stringify(scopes), api_credential_id: null, revoked_at: null, created_at: nowIso() })
        .execute();
      return issueTokens(trx, grantId, scopes, scopes, { withRefresh: false });
    });
  }

  /**
   * ComputeStacks' password grant. It takes the user's API credentials, never the login password,
   * and only where the credential's organization has turned it on (RFC 9700 deprecates it). The
   * grant remembers the credential: replacing or revoking the credential ends it.
   */
  async function passwordGrant(client: OauthApplication, params: TokenParams): Promise<TokenResponse> {
    if (!params.username || !params.password) throw new OauthError('invalid_request', 'The password grant needs username and password: an API credential pair.');
    if (parseToken(params.password) !== 'credential') {
      throw new OauthError('invalid_grant', 'The password grant takes API credentials (POST /api/auth/credentials/), not the login password.');
    }
    let principal: Principal;
    try {
      principal = await verifyApiCredential(params.username, params.password);
    } catch (error) {
      if (error instanceof Unauthenticated) throw new OauthError('invalid_grant', 'The API credentials are invalid or have been revoked.');
      throw error;
    }
    if (!(await settings.passwordGrantEnabled(principal.organizationId))) {
      throw new OauthError('unauthorized_client', "The password grant is off for this user's organization; an administrator turns it on with PATCH /api/oauth/settings/ {\"password_grant\": true}.");
    }
    const scopes = requestedScopes(params.scope, client.scopes);
    // The grant is worth no more than the credential pair it is exchanged for.
    const beyond = scopes.filter((scope) => permissionsBeyond(principal.scopes, oauthPermissions([scope])).length > 0);
    if (beyond.length) throw new OauthError('invalid_scope', `These API credentials do not carry: ${beyond.join(', ')}.`);
    return db.transaction().execute(async (trx) => {
      const grantId = newId();
      const authorizationId = await recordAuthorization(trx, principal.userId, client.id, scopes);
      await trx
        .insertInto('oauth_grants')
        .values({ id: grantId, application_id: client.id, user_id: principal.userId, authorization_id: authorizationId, grant_type: 'password', scopes: JSON.stringify(scopes), api_credential_id: principal.credentialId, revoked_at: null, created_at: nowIso() })
        .execute();
      return issueTokens(trx, grantId, scopes, scopes, { withRefresh: true });
    });
  }

  async function issueTokens(
    trx: Transaction<Database>,
    grantId: string,
    accessScopes: OauthScope[],
    refreshScopes: OauthScope[],
    { withRefresh }: { withRefresh: boolean },
  ): Promise<TokenResponse> {
    const now = nowIso();
    const accessToken = generateToken('oauth_access');
    const refreshToken = withRefresh ? generateToken('oauth_refresh') : null;
    const rows: OauthTokenRow[] = [
      { id: newId(), grant_id: grantId, kind: 'access', token_hash: hashToken(accessToken), scopes: JSON.stringify(accessScopes), expires_at: inSeconds(ACCESS_TOKEN_SECONDS), rotated_at: null, revoked_at: null, created_at: now },
    ];
    if (refreshToken) {
      rows.push({ id: newId(), grant_id: grantId, kind: 'refresh', token_hash: hashToken(refreshToken), scopes: JSON.stringify(refreshScopes), expires_at: inSeconds(REFRESH_TOKEN_SECONDS), rotated_at: null, revoked_at: null, created_at: now });
    }
    await trx.insertInto('oauth_tokens').values(rows).execute();
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_SECONDS,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      scope: accessScopes.join(' '),
    };
  }

  /** A token of this client, by its secret; null for anything else (unknown, malformed, another client's). */
  async function findClientToken(client: OauthApplication, token: string | undefined) {
    const kind = token ? parseToken(token) : null;
    if (!token || (kind !== 'oauth_access' && kind !== 'oauth_refresh')) return null;
    const row = await db
      .selectFrom('oauth_tokens')
      .innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_tokens.grant_id')
      .leftJoin('users', 'users.id', 'oauth_grants.user_id')
      .select(['oauth_tokens.id', 'oauth_tokens.kind', 'oauth_tokens.grant_id', 'oauth_tokens.scopes', 'oauth_tokens.expires_at', 'oauth_tokens.rotated_at', 'oauth_tokens.revoked_at', 'oauth_tokens.created_at'])
      .select(['oauth_grants.application_id', 'oauth_grants.revoked_at as grant_revoked_at', 'oauth_grants.user_id', 'users.username', 'users.is_active'])
      .where('oauth_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    return row && row.application_id === client.id ? row : null;
  }

  /**
   * RFC 7009: revokes a token of the calling client. A refresh token takes its whole grant with
   * it; an access token only itself. Unknown tokens are not an error.
   */
  async function revoke(client: OauthApplication, token: string | undefined): Promise<void> {
    if (!token) throw new OauthError('invalid_request', 'The request has no token.');
    const row = await findClientToken(client, token);
    if (!row) return;
    if (row.kind === 'refresh') return endGrant(row.grant_id);
    await db.updateTable('oauth_tokens').set({ revoked_at: nowIso() }).where('id', '=', row.id).where('revoked_at', 'is', null).execute();
    credentialCache.forget(new Set([row.id]));
  }

  /** RFC 7662: the state of one of the calling client's tokens; anything not live is just `{active: false}`. */
  async function introspect(client: OauthApplication, token: string | undefined): Promise<IntrospectionResponse> {
    if (!token) throw new OauthError('invalid_request', 'The request has no token.');
    const row = await findClientToken(client, token);
    const live = row && !row.revoked_at && !row.grant_revoked_at && !row.rotated_at && Date.parse(row.expires_at) > Date.now() && (row.user_id === null || row.is_active === 1);
    if (!row || !live) return { active: false };
    return {
      active: true,
      scope: (JSON.parse(row.scopes) as string[]).join(' '),
      client_id: client.clientId,
      token_type: row.kind === 'access' ? 'Bearer' : 'refresh_token',
      exp: epochSeconds(row.expires_at),
      iat: epochSeconds(row.created_at),
      ...(row.user_id ? { sub: row.user_id, username: row.username! } : {}),
    };
  }

  /**
   * The principal behind an OAuth access token presented to the API. Its permissions are its
   * scopes' permissions within the user's rights; it never carries superuser or staff powers.
   */
  async function authenticateAccessToken(token: string): Promise<Principal> {
    // Made only when needed: an error captures a stack trace, too dear for every request.
    const invalid = () => new Unauthenticated('Invalid token.', 'authentication_failed');
    if (parseToken(token) !== 'oauth_access') throw invalid();
    const hash = hashToken(token);
    return credentialCache.resolve(hash, async (now) => {
      const row = await accessTokenQuery().where('oauth_tokens.token_hash', '=', hash).executeTakeFirst();
      if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))) throw invalid();
      return accessTokenPrincipal(row, now);
    });
  }

  /**
   * The principal behind the access token with this id, by the same rules: for what holds a
   * token's id past the request that presented it (an event channel's socket).
   */
  async function principalByAccessTokenId(tokenId: string): Promise<Principal> {
    return credentialCache.resolve(`oauth-id:${tokenId}`, async (now) => {
      const row = isUuid(tokenId) ? await accessTokenQuery().where('oauth_tokens.id', '=', tokenId).executeTakeFirst() : undefined;
      if (!row) throw new Unauthenticated('Invalid token.', 'authentication_failed');
      return accessTokenPrincipal(row, now);
    });
  }

  const accessTokenQuery = () =>
    db
      .selectFrom('oauth_tokens')
      .innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_tokens.grant_id')
      .innerJoin('oauth_applications', 'oauth_applications.id', 'oauth_grants.application_id')
      .leftJoin('users', 'users.id', 'oauth_grants.user_id')
      .innerJoin('organizations', (join) =>
        // A user's token acts in the user's organization; a client's own token in the application's.
        join.on((eb) => eb('organizations.id', '=', eb.fn.coalesce('users.organization_id', 'oauth_applications.organization_id'))),
      )
      .select(['oauth_tokens.id', 'oauth_tokens.grant_id', 'oauth_tokens.token_hash', 'oauth_tokens.scopes', 'oauth_tokens.expires_at', 'oauth_tokens.revoked_at'])
      .select(['oauth_grants.revoked_at as grant_revoked_at', 'oauth_grants.user_id', 'oauth_applications.client_id', 'users.username', 'users.is_active'])
      .select(['organizations.id as organization_id', 'organizations.path as organization_path'])
      .where('oauth_tokens.kind', '=', 'access');
  type AccessTokenRow = NonNullable<Awaited<ReturnType<ReturnType<typeof accessTokenQuery>['executeTakeFirst']>>>;

  /** Checks an access token's row is usable and turns it into a principal. */
  function accessTokenPrincipal(row: AccessTokenRow, now: number) {
    if (row.revoked_at || row.grant_revoked_at) throw new Unauthenticated('Token has been revoked.', 'token_revoked');
    const expiresAt = Date.parse(row.expires_at);
    if (expiresAt <= now) throw new Unauthenticated('Token has expired.', 'token_expired');
    if (row.user_id && row.is_active !== 1) throw new Unauthenticated('User inactive or deleted.', 'authentication_failed');
    const principal: Principal = {
      userId: row.user_id ?? '',
      username: row.username ?? `oauth-client:${row.client_id}`,
      organizationId: row.organization_id,
      organizationPath: row.organization_path,
      isSuperuser: false,
      isStaff: false,
      credentialId: row.id,
      credentialKind: 'oauth',
      scopes: oauthPermissions(JSON.parse(row.scopes) as string[]),
    };
    return { principal, expiresAt, revokedWith: [row.id, row.grant_id] };
  }

  return { resolveClient, checkAuthorizationRequest, approve, issue, revoke, introspect, authenticateAccessToken, principalByAccessTokenId };
}

/** Ends a grant and every token issued under it. */
export async function revokeGrant(db: Pick<Store['db'], 'updateTable'>, grantId: string): Promise<void> {
  const now = nowIso();
  await db.updateTable('oauth_grants').set({ revoked_at: now }).where('id', '=', grantId).where('revoked_at', 'is', null).execute();
  await db.updateTable('oauth_tokens').set({ revoked_at: now }).where('grant_id', '=', grantId).where('revoked_at', 'is', null).execute();
}

/** Ends every grant issued from an API credential (the password grant), when the credential is replaced or revoked. */
export async function revokeGrantsIssuedFrom(db: Pick<Store['db'], 'selectFrom' | 'updateTable'>, credentialCache: CredentialCache, credentialId: string): Promise<void> {
  const grants = await db.selectFrom('oauth_grants').select('id').where('api_credential_id', '=', credentialId).where('revoked_at', 'is', null).execute();
  for (const { id } of grants) await revokeGrant(db, id);
  credentialCache.forget(new Set(grants.map((g) => g.id)));
}
