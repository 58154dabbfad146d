import { assertAllowed, assertScope, type Actor } from '../actor.ts';
import type { ApiCredential, CredentialService } from '../credentials/credential-service.ts';
import type { User, UserInput, UserService } from './user-service.ts';

export type Registration = ReturnType<typeof createRegistration>;

/**
 * Signing someone up for API use (ComputeStacks' `POST /api/users`): a user of the acting
 * organization, with the role a new user gets there (member) and no password to log in with,
 * and its first API credential pair. The pair carries the caller's credential's scopes, cut down
 * by the new user's role where it is used: a new account is never worth more than the one that
 * made it, nor than its own role.
 */
export function createRegistration(deps: { users: Pick<UserService, 'create' | 'remove'>; credentials: Pick<CredentialService, 'generate'> }) {
  const { users, credentials } = deps;

  async function register(actor: Actor, input: Pick<UserInput, 'username' | 'email' | 'firstName' | 'lastName'>): Promise<{ user: User; credential: ApiCredential; password: string }> {
    // Every right first (the user, its role, its pair), so that a caller who could make the user but not its pair makes neither.
    assertAllowed(actor, 'user:write');
    assertAllowed(actor, 'role:write');
    assertScope(actor, 'credential:write');
    assertAllowed(actor, 'credential:write');
    const user = await users.create(actor, { username: input.username, email: input.email, firstName: input.firstName, lastName: input.lastName, organizationId: actor.organizationId });
    try {
      return { user, ...(await credentials.generate(actor, { userId: user.id })) };
    } catch (error) {
      await users.remove(actor, user.id);
      throw error;
    }
  }

  return { register };
}
