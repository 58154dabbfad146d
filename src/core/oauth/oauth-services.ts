import type { Store } from '../../store/database.ts';
import type { AuditService } from '../audit/audit-service.ts';
import type { AuthService } from '../auth/auth-service.ts';
import type { CredentialService } from '../credentials/credential-service.ts';
import type { TokenService } from '../tokens/token-service.ts';
import { createOauthApplicationService } from './application-service.ts';
import { createConsentSignIn } from './consent-sign-in.ts';
import type { CredentialCache } from '../auth/credential-cache.ts';
import { createOauthServer } from './oauth-server.ts';
import { createOauthSettingsService } from './organization-settings.ts';
import { createServerKeys } from './server-keys.ts';
import { createUserAuthorizationService } from './user-authorizations.ts';

export type OauthServices = ReturnType<typeof createOauthServices>;

/** The OAuth domain: client registrations, the authorization server, consent sign-in and users' authorizations. */
export function createOauthServices({
  store,
  tokens,
  credentials,
  audit,
  auth,
  credentialCache,
}: {
  store: Pick<Store, 'db'>;
  tokens: TokenService;
  credentials: CredentialService;
  audit: AuditService;
  auth: Pick<AuthService, 'checkPassword'>;
  credentialCache: CredentialCache;
}) {
  const applications = createOauthApplicationService({ store });
  const settings = createOauthSettingsService({ store, audit });
  return {
    applications,
    settings,
    server: createOauthServer({ store, applications, settings, verifyApiCredential: credentials.authenticate, credentialCache }),
    signIn: createConsentSignIn({ tokens, auth }),
    authorizations: createUserAuthorizationService({ store, credentialCache }),
    keys: createServerKeys({ store }),
  };
}
