import type { CredentialKind, Principal } from '../actor.ts';
import type { CredentialService } from '../credentials/credential-service.ts';
import { Unauthenticated } from '../errors.ts';
import type { OauthServices } from '../oauth/oauth-services.ts';
import { looksLikeJwt, type BearerService } from '../tokens/bearer-service.ts';
import { tokenPrefix } from '../tokens/token-format.ts';
import type { TokenService } from '../tokens/token-service.ts';

/** A credential as a client presented it, before it is verified: a secret, or an API credential pair. */
export type PresentedCredential = { kind: 'token'; value: string } | { kind: 'basic'; username: string; password: string };

const OAUTH_ACCESS_PREFIX = tokenPrefix('oauth_access');

export type PrincipalResolver = ReturnType<typeof createPrincipalResolver>;

/**
 * Who a presented credential is. Core decides which service owns a secret by its shape (a
 * JWT, an OAuth access token's prefix, any other API token), so every surface resolves every
 * credential the same way whatever header carried it.
 */
export function createPrincipalResolver(deps: { tokens: Pick<TokenService, 'authenticate' | 'principalById'>; bearers: Pick<BearerService, 'authenticate'>; credentials: Pick<CredentialService, 'authenticate' | 'principalById'>; oauth: Pick<OauthServices, 'server'> }) {
  const { tokens, bearers, credentials, oauth } = deps;

  /**
   * Who a credential named by its kind and id is now, by the rules a request presenting it
   * would meet (revoked, expired, its user deactivated: `Unauthenticated`). For what outlives
   * the request that presented it, such as an event channel's socket, which may be held by
   * another replica: the secret is gone by then, its id is kept. A bearer's id is its parent
   * token's.
   */
  async function principalById(kind: CredentialKind, id: string): Promise<Principal> {
    if (kind === 'api_credential') return credentials.principalById(id);
    if (kind === 'oauth') return oauth.server.principalByAccessTokenId(id);
    if (kind === 'personal' || kind === 'session' || kind === 'api_key' || kind === 'account' || kind === 'bearer') return tokens.principalById(id);
    throw new Unauthenticated('Invalid token.', 'authentication_failed');
  }

  return {
    async principalFor(credential: PresentedCredential): Promise<Principal> {
      if (credential.kind === 'basic') return credentials.authenticate(credential.username, credential.password);
      if (looksLikeJwt(credential.value)) return bearers.authenticate(credential.value);
      // By its prefix alone: the service it goes to checks the whole token (once per request).
      return credential.value.startsWith(OAUTH_ACCESS_PREFIX) ? oauth.server.authenticateAccessToken(credential.value) : tokens.authenticate(credential.value);
    },

    principalById,

    /**
     * The same, for a credential recorded when something was opened (a socket): its kind may be
     * unknown, recorded before kinds were, which ends what it opened as a revoked one would.
     */
    async standing(credential: { kind: string | null; id: string | null }): Promise<Principal> {
      if (credential.kind === null || credential.id === null) throw new Unauthenticated('The credential that opened this is not known; open it again.', 'credential_unknown');
      return principalById(credential.kind as CredentialKind, credential.id);
    },
  };
}
