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

/** A slot held by something that stays open, and the check that ends it once access is gone. */
export interface HeldSlot {
  /** Throws (a domain error) once what was opened may no longer be delivered; cheap between re-checks. */
  recheck(): Promise<unknown>;
  /** Gives the slot back; safe to call more than once. */
  release(): void;
}

/** One open request: its slot, and its caller as it is now. */
export interface LongRequest extends HeldSlot {
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
  /** Slots held per credential, or per what a link reaches. */
  const byHolder = new Map<string, number>();
  let total = 0;

  /**
   * Checks `access` and takes a slot for `actor`'s credential, or refuses with a 429. `access` is
   * a permission, or a check of its own (run on each re-check; the caller has run it before opening)
   * for what a permission alone does not decide, such as an app shared with the caller.
   */
  function open(actor: Actor, access: string | ((current: Actor) => Promise<unknown>)): LongRequest {
    if (typeof access === 'string') assertAllowed(actor, access);
    const slot = take(actor.principal.credentialId, `This credential already holds ${byHolder.get(actor.principal.credentialId) ?? 0} open streams and long polls, the most allowed; close one or retry later.`);
    let current = actor;
    let checkedAt = Date.now();
    const resolve = async () => {
      if (!actor.reauthenticate || Date.now() - checkedAt < RECHECK_MS) return current;
      checkedAt = Date.now();
      current = await actor.reauthenticate();
      if (typeof access === 'string') assertAllowed(current, access);
      else await access(current);
      return current;
    };
    return { actor: resolve, recheck: resolve, release: slot };
  }

  /**
   * A slot for a stream opened through a link (a capability in its URL, no credential): counted
   * per `holder` (what the link reaches, such as an app) with the same bound, and `check` (which
   * throws once the link no longer grants what it did) run at most every `RECHECK_MS`.
   */
  function openFor(holder: string, check: () => Promise<unknown>): HeldSlot {
    const release = take(holder, 'This resource already has as many open streams as allowed; close one or retry later.');
    let checkedAt = Date.now();
    return {
      async recheck() {
        if (Date.now() - checkedAt < RECHECK_MS) return;
        checkedAt = Date.now();
        await check();
      },
      release,
    };
  }

  /** Takes a slot for `holder` (a credential, or what a link reaches), or refuses with a 429; gives back its release. */
  function take(holder: string, busy: string): () => void {
    const held = byHolder.get(holder) ?? 0;
    if (held >= limits.perCredential) throw new RateLimited(RETRY_AFTER_SECONDS, busy);
    if (total >= limits.perProcess) throw new RateLimited(RETRY_AFTER_SECONDS, 'This server holds as many open streams and long polls as it allows; retry later.');
    byHolder.set(holder, held + 1);
    total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      total -= 1;
      const left = (byHolder.get(holder) ?? 1) - 1;
      if (left > 0) byHolder.set(holder, left);
      else byHolder.delete(holder);
    };
  }

  return { open, openFor, openCount: () => total };
}

/** Whether an error ends an open request because its caller may no longer see it (rather than a failure). */
export const endsAccess = (error: unknown): boolean => error instanceof DomainError;
