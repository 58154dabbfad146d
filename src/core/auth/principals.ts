import type { Principal } from '../actor.ts';
import type { CredentialService } from '../credentials/credential-service.ts';
import type { OauthServices } from '../oauth/oauth-services.ts';
import { looksLikeJwt, type BearerService } from '../tokens/bearer-service.ts';
import { parseToken } from '../tokens/token-format.ts';
import type { TokenService } from '../tokens/token-service.ts';

/** A credential as a client presented it, before it is verified: a secret, or an API credential pair. */
export type PresentedCredential = { kind: 'token'; value: string } | { kind: 'basic'; username: string; password: string };

export type PrincipalResolver = ReturnType<typeof createPrincipalResolver>;

/**
 * Who a presented credential is. Core decides which service owns a secret by its shape (a
 * JWT, an OAuth access token's prefix, any other API token), so every surface resolves every
 * credential the same way whatever header carried it.
 */
export function createPrincipalResolver(deps: { tokens: Pick<TokenService, 'authenticate'>; bearers: Pick<BearerService, 'authenticate'>; credentials: Pick<CredentialService, 'authenticate'>; oauth: Pick<OauthServices, 'server'> }) {
  const { tokens, bearers, credentials, oauth } = deps;
  return {
    async principalFor(credential: PresentedCredential): Promise<Principal> {
      if (credential.kind === 'basic') return credentials.authenticate(credential.username, credential.password);
      if (looksLikeJwt(credential.value)) return bearers.authenticate(credential.value);
      return parseToken(credential.value) === 'oauth_access' ? oauth.server.authenticateAccessToken(credential.value) : tokens.authenticate(credential.value);
    },
  };
}
