import type { Store } from '../../store/database.ts';
import type { TokenService } from '../tokens/token-service.ts';
import { createOauthApplicationService } from './application-service.ts';
import { createConsentSignIn } from './consent-sign-in.ts';
import { createOauthServer } from './oauth-server.ts';
import { createServerKeys } from './server-keys.ts';
import { createUserAuthorizationService } from './user-authorizations.ts';

export type OauthServices = ReturnType<typeof createOauthServices>;

/** The OAuth domain: client registrations, the authorization server, consent sign-in and users' authorizations. */
export function createOauthServices({ store, tokens }: { store: Pick<Store, 'db'>; tokens: TokenService }) {
  const applications = createOauthApplicationService({ store });
  return {
    applications,
    server: createOauthServer({ store, applications }),
    signIn: createConsentSignIn({ store, tokens }),
    authorizations: createUserAuthorizationService({ store }),
    keys: createServerKeys({ store }),
  };
}
