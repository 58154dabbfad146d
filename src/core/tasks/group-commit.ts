/**
 * Group commit: items submitted while a batch is being committed wait and go together in the
 * next one, so that many small changes arriving at once cost one transaction, not one each.
 * The first batch starts on the next turn of the event loop, so a burst (many handlers ending
 * at once, many requests read off their sockets together) is one batch too. A batch that fails
 * is tried again item by item, so that one bad item fails alone.
 */
export function groupCommit<I, R>(commit: (items: I[]) => Promise<R[]>, maxBatch: number): (item: I) => Promise<R> {
  const queue: { item: I; resolve(result: R): void; reject(error: unknown): void }[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    while (queue.length) {
      const batch = queue.splice(0, maxBatch);
      try {
        const results = await commit(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => entry.resolve(results[i]!));
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        else for (const entry of batch) await commit([entry.item]).then(([result]) => entry.resolve(result!), entry.reject);
      }
    }
    draining = false;
  }

  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (draining) return;
      draining = true;
      setImmediate(() => void drain());
    });
}
