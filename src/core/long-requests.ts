import { assertAllowed, type Actor } from './actor.ts';
import { DomainError, RateLimited } from './errors.ts';

/** How many requests may stay open (event streams, output streams, long polls) in this process. */
export interface LongRequestLimits {
  perCredential: number;
  perProcess: number;
}

/**
 * How often an open request resolves its caller again. The credential and role caches live 2 s,
 * so a revocation, a removed role or a deactivated user ends it within 3 s on any replica.
 */
export const RECHECK_MS = 1_000;
/** A refused request is told to retry after this long: slots free up as streams close. */
const RETRY_AFTER_SECONDS = 5;

/** One open request: its slot, and its caller as it is now. */
export interface LongRequest {
  /**
   * The caller, resolved again from the credential it presented at most every `RECHECK_MS`;
   * throws (a domain error) once the credential is revoked, the user deactivated or the
   * permission the request needs is gone.
   */
  actor(): Promise<Actor>;
  /** Gives the slot back; safe to call more than once. */
  release(): void;
}

export type LongRequests = ReturnType<typeof createLongRequests>;

/**
 * Requests that stay open hold a slot each, counted per credential and for the whole process,
 * so that one credential cannot hold every connection the process can keep, and keep checking
 * that their caller may still see what they deliver.
 */
export function createLongRequests(limits: LongRequestLimits) {
  const byCredential = new Map<string, number>();
  let total = 0;

  /**
   * Checks `access` and takes a slot for `actor`'s credential, or refuses with a 429. `access` is
   * a permission, or a check of its own (run on each re-check; the caller has run it before opening)
   * for what a permission alone does not decide, such as an app shared with the caller.
   */
  function open(actor: Actor, access: string | ((current: Actor) => Promise<unknown>)): LongRequest {
    if (typeof access === 'string') assertAllowed(actor, access);
    const credential = actor.principal.credentialId;
    const held = byCredential.get(credential) ?? 0;
    if (held >= limits.perCredential) {
      throw new RateLimited(RETRY_AFTER_SECONDS, `This credential already holds ${held} open streams and long polls, the most allowed; close one or retry later.`);
    }
    if (total >= limits.perProcess) throw new RateLimited(RETRY_AFTER_SECONDS, 'This server holds as many open streams and long polls as it allows; retry later.');
    byCredential.set(credential, held + 1);
    total += 1;

    let released = false;
    let current = actor;
    let checkedAt = Date.now();
    return {
      async actor() {
        if (!actor.reauthenticate || Date.now() - checkedAt < RECHECK_MS) return current;
        checkedAt = Date.now();
        current = await actor.reauthenticate();
        if (typeof access === 'string') assertAllowed(current, access);
        else await access(current);
        return current;
      },
      release() {
        if (released) return;
        released = true;
        total -= 1;
        const left = (byCredential.get(credential) ?? 1) - 1;
        if (left > 0) byCredential.set(credential, left);
        else byCredential.delete(credential);
      },
    };
  }

  return { open, openCount: () => total };
}

/** Whether an error ends an open request because its caller may no longer see it (rather than a failure). */
export const endsAccess = (error: unknown): boolean => error instanceof DomainError;
