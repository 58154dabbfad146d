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

/** The fields of a sign-up this server uses besides the profile's: who the user is at the provider, and the currency. */
const SIGN_UP_FIELDS = new Set(['provider_server', 'provider_username', 'currency']);
/** ComputeStacks' names for core's, in a sign-up's validation errors: the user name is made from the provider's. */
const SIGN_UP_FIELD_NAMES = { ...FIELD_NAMES, username: 'provider_username' };

/**
 * A user name from the provider's server and its user name there (ComputeStacks scopes the one
 * by the other): `alice@panel.example.com`, in the characters user names may hold.
 */
function providerUsername(server: string, username: string): string {
  const host = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? (URL.canParse(server) ? new URL(server).hostname : server) : server;
  return `${username}@${host}`.replace(/[^\p{L}\p{N}_@.+-]+/gu, '-').slice(0, 150);
}

/**
 * `{"user": {fname, lname, email, currency}, "provider_server", "provider_username"}` (the
 * provider's fields also inside `user`): fname and lname are required, as on ComputeStacks.
 */
function signUp(body: unknown, currency: string): { username: string; email?: string; firstName: string; lastName: string } {
  const given = rooted(body, 'user');
  const top = body as Record<string, unknown>;
  const server = top.provider_server ?? given.provider_server;
  const provider = top.provider_username ?? given.provider_username;
  if (typeof server !== 'string' || server.trim() === '' || typeof provider !== 'string' || provider.trim() === '') throw new ValidationFailed({}, ['missing provider settings']);
  const refused: Record<string, string[]> = {};
  const profile = profileChanges({ user: Object.fromEntries(Object.entries(given).filter(([field]) => !SIGN_UP_FIELDS.has(field))) });
  for (const field of ['fname', 'lname'] as const) if (!profile[PROFILE_FIELDS[field]]?.trim()) refused[field] = ["can't be blank"];
  if (given.currency !== undefined && (typeof given.currency !== 'string' || given.currency.toUpperCase() !== currency)) refused.currency = [`only ${currency} is offered here`];
  if (Object.keys(refused).length) throw new ValidationFailed(refused);
  return { username: providerUsername(server.trim(), provider.trim()), email: profile.email, firstName: profile.firstName!, lastName: profile.lastName! };
}

/**
 * The caller's own user: `GET /api/users` (scope `profile_read`) and `PATCH /api/users` (scope
 * `profile_write`); and `POST /api/users` (scope `register`): a new user of the caller's
 * organization, answered with its API credentials.
 */
export function profileRoutes(app: FastifyInstance, { users, registration, catalog }: Pick<CoreServices, 'users' | 'registration' | 'catalog'>): void {
  app.post('/api/users', { config: { computestacksScope: 'register' } }, async (request, reply) => {
    const { user, credential, password } = await withFieldNames(SIGN_UP_FIELD_NAMES, () => registration.register(request.actor, signUp(request.body, catalog.currency)));
    return reply.code(201).send({ user: { ...renderUser(user), currency: catalog.currency, api: { username: credential.username, password } } });
  });

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
