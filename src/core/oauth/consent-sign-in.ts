import { parseToken } from '../tokens/token-format.ts';
import type { TokenService } from '../tokens/token-service.ts';
import type { Store } from '../../store/database.ts';
import { hashPassword, verifyPassword } from '../users/passwords.ts';
import { createSignInThrottle } from './sign-in-throttle.ts';

/** How long a browser stays signed in to the consent page. */
export const CONSENT_SESSION_SECONDS = 12 * 3600;

export interface ConsentUser {
  id: string;
  username: string;
}

export type ConsentSignIn = ReturnType<typeof createConsentSignIn>;

/**
 * Who is approving an authorization request: a user signing in with their login password
 * (Argon2id), remembered by a session token so the next consent needs no password.
 */
export function createConsentSignIn({ store, tokens }: { store: Pick<Store, 'db'>; tokens: TokenService }) {
  const { db } = store;
  const throttle = createSignInThrottle({ store });
  // Verifying against a throwaway hash when the user does not exist costs the same time, so the
  // response time does not tell which user names exist.
  let decoyHash: Promise<string> | undefined;

  /**
   * The user and a new session token, or null when the user name or password is wrong. Throws
   * `RateLimited` after too many failures for the user name or from the client's address.
   */
  async function signIn(username: string, password: string, clientAddress: string): Promise<{ user: ConsentUser; sessionToken: string } | null> {
    await throttle.check(username, clientAddress);
    const user = await db.selectFrom('users').select(['id', 'username', 'organization_id', 'password_hash', 'is_active']).where('username', '=', username).executeTakeFirst();
    const usable = user?.password_hash && user.is_active === 1;
    const verified = await verifyPassword(usable ? user.password_hash! : await (decoyHash ??= hashPassword('decoy password')), password);
    if (!user || !usable || !verified) {
      await throttle.recordFailure(username, clientAddress);
      return null;
    }
    await throttle.recordSuccess(username);
    const { secret } = await tokens.create({
      userId: user.id,
      organizationId: user.organization_id,
      kind: 'session',
      name: 'OAuth consent sign-in',
      // The session only identifies its user to the consent page: it grants nothing else.
      scopes: [],
      expiresAt: new Date(Date.now() + CONSENT_SESSION_SECONDS * 1000).toISOString(),
    });
    return { user: { id: user.id, username: user.username }, sessionToken: secret };
  }

  /** The user a session token belongs to, or null when it is not a live session token. */
  async function sessionUser(sessionToken: string | undefined): Promise<ConsentUser | null> {
    if (!sessionToken || parseToken(sessionToken) !== 'session') return null;
    try {
      const principal = await tokens.authenticate(sessionToken);
      return { id: principal.userId, username: principal.username };
    } catch {
      return null;
    }
  }

  return { signIn, sessionUser };
}
