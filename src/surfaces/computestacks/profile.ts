import type { FastifyInstance } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { ValidationFailed } from '../../core/errors.ts';
import { SELF, type User, type UserInput } from '../../core/users/user-service.ts';
import { withFieldNames } from '../../http/field-names.ts';
import { messagesOf, rooted } from './errors.ts';

/** The profile fields this server keeps, by ComputeStacks' names. */
const PROFILE_FIELDS = { fname: 'firstName', lname: 'lastName', email: 'email' } as const;
/** ComputeStacks' names for core's, in validation errors. */
const FIELD_NAMES = { firstName: 'fname', lastName: 'lname' };

export function renderUser(user: User) {
  return { id: user.id, fname: user.firstName, lname: user.lastName, email: user.email, username: user.username, created_at: user.createdAt, updated_at: user.updatedAt };
}

/** `{"user": {fname, lname, email}}` as core's input; any other field is refused by name rather than dropped. */
function profileChanges(body: unknown): UserInput {
  const given = rooted(body, 'user');
  const changes: Pick<UserInput, (typeof PROFILE_FIELDS)[keyof typeof PROFILE_FIELDS]> = {};
  const refused: Record<string, string[]> = {};
  for (const [field, value] of Object.entries(given)) {
    const name = PROFILE_FIELDS[field as keyof typeof PROFILE_FIELDS];
    if (!name) refused[field] = ['is not kept by this server'];
    else if (typeof value !== 'string') refused[field] = ['must be a string'];
    else changes[name] = value;
  }
  if (Object.keys(refused).length) throw new ValidationFailed(refused);
  return changes;
}

/** The caller's own user: `GET /api/users` (scope `profile_read`) and `PATCH /api/users` (scope `profile_write`). */
export function profileRoutes(app: FastifyInstance, { users }: Pick<CoreServices, 'users'>): void {
  app.get('/api/users', { config: { computestacksScope: 'profile_read' } }, async (request) => ({ user: renderUser(await users.get(request.actor, SELF)) }));

  // ComputeStacks answers a profile it cannot save with a 400, and a saved one with `{}`.
  app.patch('/api/users', { config: { computestacksScope: 'profile_write' } }, async (request, reply) => {
    try {
      await withFieldNames(FIELD_NAMES, () => users.update(request.actor, SELF, profileChanges(request.body), { partial: true }));
    } catch (error) {
      if (error instanceof ValidationFailed) return reply.code(400).send({ errors: messagesOf(error) });
      throw error;
    }
    return {};
  });
}
