import type { RequestContext } from '../audit/audit-service.ts';
import type { AuthService } from '../auth/auth-service.ts';
import { Unauthenticated, ValidationFailed } from '../errors.ts';
import { parseToken } from '../tokens/token-format.ts';
import type { TokenService } from '../tokens/token-service.ts';

/** How long a browser stays signed in to the consent page. */
export const CONSENT_SESSION_SECONDS = 12 * 3600;

export interface ConsentUser {
  id: string;
  username: string;
}

export type ConsentSignIn = ReturnType<typeof createConsentSignIn>;

/**
 * Who is approving an authorization request: a user signing in with their login password,
 * remembered by a session token so the next consent needs no password.
 */
export function createConsentSignIn({ tokens, auth }: { tokens: TokenService; auth: Pick<AuthService, 'checkPassword'> }) {
  /**
   * The user and a new session token, or null when the user name or password is wrong. The
   * password is checked, throttled and audited as every login password is (`checkPassword`), so
   * it throws `RateLimited` after too many failures for the account or from the client's address.
   */
  async function signIn(username: string, password: string, context: RequestContext): Promise<{ user: ConsentUser; sessionToken: string } | null> {
    let user: Awaited<ReturnType<AuthService['checkPassword']>>;
    try {
      user = await auth.checkPassword(context, { username, password });
    } catch (error) {
      if (error instanceof Unauthenticated || error instanceof ValidationFailed) return null;
      throw error;
    }
    const { secret } = await tokens.create({
      userId: user.id,
      organizationId: user.organizationId,
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
