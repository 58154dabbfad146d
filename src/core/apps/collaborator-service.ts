import { randomBytes } from 'node:crypto';
import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { AppCollaboratorRow, AppRow } from '../../store/schema.ts';
import { assertScope, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, PermissionDenied, ValidationFailed } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import { hashToken } from '../tokens/token-format.ts';
import { EMAIL_PATTERN } from '../users/user-service.ts';
import type { AppService } from './app-service.ts';
import { appEvent } from './context.ts';

/** A collaborator as services return it: the invitation token is only ever in `invite`'s answer. */
export type Collaborator = Omit<AppCollaboratorRow, 'token_hash'> & { username: string | null };

export const COLLABORATORS_PER_APP = 100;
const EMAIL_MAX = 254;
const INVITATION_PREFIX = 'nbinv_';

export type CollaboratorService = ReturnType<typeof createCollaboratorService>;

/**
 * Collaborators: people invited by email to one app. Once the invited user accepts (with the
 * invitation's token, signed in with that email address), they reach that app, and only it,
 * whatever their own organization: deploy, scale, variables, domains, logs, runs. Only the
 * app's organization invites, removes, renames, transfers or deletes.
 */
export function createCollaboratorService(deps: { store: Store; events: EventService; apps: AppService }) {
  const { store, events, apps } = deps;
  const { db } = store;

  const rows = () => db.selectFrom('app_collaborators').leftJoin('users', 'users.id', 'app_collaborators.user_id').selectAll('app_collaborators').select('users.username');
  const toCollaborator = ({ token_hash: _hash, ...row }: AppCollaboratorRow & { username: string | null }): Collaborator => row;

  async function findCollaborator(app: AppRow, id: string): Promise<Collaborator> {
    const row = isUuid(id) ? await rows().where('app_collaborators.app_id', '=', app.id).where('app_collaborators.id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('collaborator', 'No collaborator matches the given query.');
    return toCollaborator(row);
  }

  async function list(actor: Actor, appRef: string): Promise<Collaborator[]> {
    const app = await apps.findOwned(actor, appRef, 'read');
    return (await rows().where('app_collaborators.app_id', '=', app.id).orderBy('app_collaborators.email').execute()).map(toCollaborator);
  }

  async function get(actor: Actor, appRef: string, id: string): Promise<Collaborator> {
    return findCollaborator(await apps.findOwned(actor, appRef, 'read'), id);
  }

  /** Invites `email` to the app: a pending collaborator, and the token (shown only here) that accepts it. */
  async function invite(actor: Actor, appRef: string, input: { email?: string }): Promise<{ collaborator: Collaborator; token: string }> {
    const app = await apps.findOwned(actor, appRef);
    const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
    if (!email || email.length > EMAIL_MAX || !EMAIL_PATTERN.test(email)) throw ValidationFailed.field('email', 'Enter a valid email address.');
    const token = `${INVITATION_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = nowIso();
    const row: AppCollaboratorRow = { id: newId(), app_id: app.id, email, user_id: null, status: 'pending', token_hash: hashToken(token), invited_by: actor.principal.userId, created_at: now, updated_at: now };
    try {
      await db.transaction().execute(async (trx) => {
        const count = await trx.selectFrom('app_collaborators').select((eb) => eb.fn.countAll<number>().as('n')).where('app_id', '=', app.id).executeTakeFirstOrThrow();
        if (Number(count.n) >= COLLABORATORS_PER_APP) throw ValidationFailed.field('email', `An app has at most ${COLLABORATORS_PER_APP} collaborators.`);
        await trx.insertInto('app_collaborators').values(row).execute();
        await events.record(trx, appEvent(app, 'new_collaborator', actor, { collaborator: row.id, email }));
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw ValidationFailed.field('email', 'is already invited to this app');
      throw error;
    }
    return { collaborator: toCollaborator({ ...row, username: null }), token };
  }

  /**
   * Accepts an invitation: the signed-in user must have the invited email address. The token
   * works once; from then on the user reaches the app.
   */
  async function accept(actor: Actor, input: { token?: string }): Promise<{ collaborator: Collaborator; app: AppRow }> {
    assertScope(actor, 'app:read');
    const invitation = typeof input.token === 'string' && input.token.startsWith(INVITATION_PREFIX)
      ? await db.selectFrom('app_collaborators').selectAll().where('token_hash', '=', hashToken(input.token)).where('status', '=', 'pending').executeTakeFirst()
      : undefined;
    if (!invitation) throw ValidationFailed.field('token', 'This invitation is not valid, or was already accepted.');
    const user = await db.selectFrom('users').select(['email', 'username']).where('id', '=', actor.principal.userId).executeTakeFirstOrThrow();
    if (user.email.trim().toLowerCase() !== invitation.email) throw new PermissionDenied('This invitation is for another email address: sign in as the person it was sent to.');
    const app = await db.selectFrom('apps').selectAll().where('id', '=', invitation.app_id).executeTakeFirstOrThrow();
    const accepted: AppCollaboratorRow = { ...invitation, user_id: actor.principal.userId, status: 'accepted', token_hash: null, updated_at: nowIso() };
    await db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('app_collaborators').set({ user_id: accepted.user_id, status: 'accepted', token_hash: null, updated_at: accepted.updated_at }).where('id', '=', invitation.id).where('status', '=', 'pending').executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw ValidationFailed.field('token', 'This invitation is not valid, or was already accepted.');
      await events.record(trx, appEvent(app, 'accept_collaborator', actor, { collaborator: invitation.id, email: invitation.email }));
    });
    return { collaborator: toCollaborator({ ...accepted, username: user.username }), app };
  }

  /** Removes a collaborator (or withdraws an invitation): the user no longer reaches the app, at once. */
  async function remove(actor: Actor, appRef: string, id: string): Promise<void> {
    const app = await apps.findOwned(actor, appRef);
    const current = await findCollaborator(app, id);
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('app_collaborators').where('id', '=', current.id).execute();
      await events.record(trx, appEvent(app, 'delete_collaborator', actor, { collaborator: current.id, email: current.email }));
    });
  }

  return { list, get, invite, accept, remove };
}
