import type { Store } from '../../store/database.ts';
import type { Actor } from '../actor.ts';
import type { AuditService, RequestContext } from '../audit/audit-service.ts';
import { nowIso } from '../clock.ts';
import { Unauthenticated, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { LoginThrottle, LoginThrottleSettings } from './login-throttle.ts';
import type { PersonalTokenPrefix } from '../tokens/token-format.ts';
import type { TokenInput, TokenService } from '../tokens/token-service.ts';
import { hashPassword, verifyPassword } from '../users/passwords.ts';

export interface LoginSettings extends LoginThrottleSettings {
  /** Lifetime of a login session token, in seconds. */
  sessionTtlSeconds: number;
}

export interface LoginInput {
  username?: string;
  /** Instead of `username`: the account whose e-mail address this is (when exactly one has it). */
  email?: string;
  password?: string;
  workspace_url?: string;
}

export interface Session {
  token: string;
  expiresAt: string;
  /** The organization the session's user belongs to. */
  organizationId: string;
}

const INVALID_LOGIN = 'Unable to log in with provided credentials.';

export type AuthService = ReturnType<typeof createAuthService>;

/** Password login into session tokens, with throttling that tells nobody which accounts exist. */
export function createAuthService(deps: { store: Pick<Store, 'db'>; tokens: TokenService; audit: AuditService; throttle: LoginThrottle; settings: LoginSettings }) {
  const { db } = deps.store;
  const { tokens, audit, throttle, settings } = deps;
  // Unknown users are checked against this hash so that a miss costs as much time as a hit.
  const decoy = hashPassword('nimbus-decoy-password-for-unknown-users');

  /**
   * Checks a username and password, throttled per account and per client address, with the
   * same answer and about the same time whether or not the account exists. Every surface that
   * takes a login password (the native login, a dialect's token creation) goes through here.
   */
  async function checkPassword(context: RequestContext, input: LoginInput): Promise<{ id: string; username: string; organizationId: string }> {
    const errors: FieldErrors = {};
    const field = input.username === undefined && input.email !== undefined ? 'email' : 'username';
    const given = input[field];
    if (!given) errors[field] = [given === '' ? 'This field may not be blank.' : 'This field is required.'];
    if (!input.password) errors.password = [input.password === '' ? 'This field may not be blank.' : 'This field is required.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    // Throttled by what was typed, whichever of the two it is.
    const username = given!;
    const attempt = await throttle.begin(username, context.clientAddress);

    const users = db.selectFrom('users').select(['id', 'username', 'organization_id', 'password_hash', 'is_active']);
    const user =
      field === 'username'
        ? await users.where('username', '=', username).executeTakeFirst()
        : // An address several accounts share names none of them.
          await users.where((eb) => eb(eb.fn('lower', ['email']), '=', username.toLowerCase())).limit(2).execute().then((rows) => (rows.length === 1 ? rows[0] : undefined));
    const valid = await verifyPassword(user?.password_hash ?? (await decoy), input.password!);
    if (!user || !user.password_hash || !valid || !user.is_active) {
      await audit.record(context, {
        action: 'login_failed',
        organizationId: user?.organization_id ?? null,
        userId: user?.id ?? null,
        username,
        targetType: 'user',
        targetId: user?.id ?? null,
      });
      throw new Unauthenticated(INVALID_LOGIN, 'authentication_failed');
    }
    await attempt.succeeded();
    return { id: user.id, username: user.username, organizationId: user.organization_id };
  }

  /** A password login: a session token that expires. */
  async function login(context: RequestContext, input: LoginInput): Promise<Session> {
    const user = await checkPassword(context, input);
    const expiresAt = new Date(Date.now() + settings.sessionTtlSeconds * 1000).toISOString();
    const { row, secret } = await tokens.create({
      userId: user.id,
      organizationId: user.organizationId,
      kind: 'session',
      name: 'login session',
      scopes: ['*'],
      expiresAt,
    });
    await db.updateTable('users').set({ last_login: nowIso() }).where('id', '=', user.id).execute();
    await audit.record(context, {
      action: 'login',
      organizationId: user.organizationId,
      userId: user.id,
      username: user.username,
      targetType: 'session',
      targetId: row.id,
      detail: input.workspace_url ? { workspace_url: input.workspace_url.slice(0, 200) } : {},
    });
    return { token: secret, expiresAt, organizationId: user.organizationId };
  }

  /** A password exchanged for a personal API token that does not expire unless asked to (Scalingo's `POST /v1/tokens`). */
  async function issueToken(context: RequestContext, login: LoginInput, input: TokenInput, prefix: PersonalTokenPrefix | null = null) {
    const user = await checkPassword(context, login);
    return tokens.createForOwner(context, user, input, prefix);
  }

  /** Ends the caller's login session; other kinds of credential are left alone. */
  async function logout(actor: Actor): Promise<void> {
    if (actor.principal.credentialKind !== 'session') return;
    await tokens.revoke(actor.principal.credentialId);
    await audit.recordFor(actor, { action: 'logout', targetType: 'session', targetId: actor.principal.credentialId });
  }

  return { checkPassword, login, issueToken, logout };
}
