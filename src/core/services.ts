import type { Store } from '../store/database.ts';
import { createOauthServices } from './oauth/oauth-services.ts';
import { createOrganizationService } from './organizations/organization-service.ts';
import { createTokenService } from './tokens/token-service.ts';

/** Every core service, built once per process over one store. Surfaces receive this. */
export function createCoreServices(store: Store) {
  const tokens = createTokenService({ store });
  return {
    tokens,
    organizations: createOrganizationService({ store }),
    oauth: createOauthServices({ store, tokens }),
  };
}

export type CoreServices = ReturnType<typeof createCoreServices>;
