import type { Actor } from '../../core/actor.ts';
import type { CoreServices } from '../../core/services.ts';

export type ScalingoUser = { id: string; username: string; email: string };

/**
 * Users by id as Scalingo names who did something (an event's `user`, a deployment's `pusher`),
 * each looked up once; one the caller may not see is only its id.
 */
export function userLookup(users: CoreServices['users'], actor: Actor): (id: string | null) => Promise<ScalingoUser | null> {
  const known = new Map<string, Promise<ScalingoUser>>();
  return (id) => {
    if (id === null) return Promise.resolve(null);
    if (!known.has(id)) known.set(id, users.get(actor, id).then((u) => ({ id: u.id, username: u.username, email: u.email }), () => ({ id, username: '', email: '' })));
    return known.get(id)!;
  };
}
