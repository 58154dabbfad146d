import type { Store } from '../store/database.ts';
import { createOrganizationService } from './organizations/organization-service.ts';
import { createTokenService } from './tokens/token-service.ts';

/** Every core service, built once per process over one store. Surfaces receive this. */
export function createCoreServices(store: Store) {
  return {
    tokens: createTokenService({ store }),
    organizations: createOrganizationService({ store }),
  };
}

export type CoreServices = ReturnType<typeof createCoreServices>;
