import type { Principal } from '../actor.ts';
import { TtlCache } from '../ttl-cache.ts';

/**
 * How long a verified credential is trusted without reading the database again: a revocation
 * made on another replica takes effect here within this time.
 */
export const CREDENTIAL_CACHE_TTL_MS = 2_000;

/** A credential as verified against the database. */
export interface VerifiedCredential {
  principal: Principal;
  /** When the credential itself expires (ms since the epoch): never served from the cache after. */
  expiresAt: number;
  /** Ids whose revocation ends it: its own, and e.g. its OAuth grant's. */
  revokedWith: readonly string[];
}

/**
 * Principals of verified credentials, by a key the owner of the credential kind chooses (a
 * secret's hash, a token's id): API tokens, bearers' parent tokens and OAuth access tokens all
 * go through one, so every kind answers from memory and every kind's revocation propagates
 * the same way.
 */
export class CredentialCache {
  private readonly entries = new TtlCache<string, VerifiedCredential>(CREDENTIAL_CACHE_TTL_MS);
  /** Verifications under way: requests that miss together (an entry just expired) read the database once. */
  private readonly verifying = new Map<string, Promise<VerifiedCredential>>();
  /** Bumped by every `forget`: a verification that began before it is not cached, as it may predate the revocation. */
  private generation = 0;

  /** The principal cached under `key`, or what `verify` reads from the database (then cached). */
  async resolve(key: string, verify: (now: number) => Promise<VerifiedCredential>): Promise<Principal> {
    const now = Date.now();
    const cached = this.entries.get(key, now);
    if (cached && cached.expiresAt > now) return cached.principal;
    let pending = this.verifying.get(key);
    if (!pending) {
      const generation = this.generation;
      pending = verify(now).then((verified) => {
        if (generation === this.generation) this.entries.set(key, verified, now);
        return verified;
      });
      this.verifying.set(key, pending);
      const done = () => void (this.verifying.get(key) === pending && this.verifying.delete(key));
      pending.then(done, done);
    }
    return (await pending).principal;
  }

  /** Forgets, on this replica, every credential that one of `ids` (a token, a grant) revokes. */
  forget(ids: ReadonlySet<string>): void {
    this.generation++;
    this.verifying.clear();
    this.entries.deleteWhere((_key, entry) => entry.revokedWith.some((id) => ids.has(id)));
  }
}
