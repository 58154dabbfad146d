/**
 * A bounded in-process cache whose entries live for a fixed time. Replicas each keep their own,
 * so whatever is cached here may be stale on another replica for at most the TTL.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();

  constructor(private readonly ttlMs: number, private readonly limit = 10_000) {}

  get(key: K, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V, now = Date.now()): void {
    // Clearing everything at the limit is crude but keeps memory bounded without bookkeeping.
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  deleteWhere(matches: (key: K, value: V) => boolean): void {
    for (const [key, entry] of this.entries) if (matches(key, entry.value)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
