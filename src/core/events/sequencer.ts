import { sql } from 'kysely';
import type { Store } from '../../store/database.ts';
import { withAdvisoryLock } from '../../store/locks.ts';

const SEQUENCER_LOCK_ID = 727_300;
const BATCH = 5_000;

/**
 * Numbers committed events in commit order: the stream's ids.
 *
 * Why not a sequence or an autoincrement id at insert time: on PostgreSQL, transactions take
 * ids when they insert but commit in any order, so a reader that has delivered id 12 could later
 * see 11 commit and skip it for ever (the outbox gap problem). Instead events are written with
 * no id, and this sequencer, under a cluster-wide advisory lock, gives every row it can see
 * (committed rows only) the next ids in one statement. A transaction that commits late gets
 * later ids, so ids only ever appear in increasing order and a reader that has seen id N will
 * never see a new id at or below N. The lock is held for one short batch, never across a
 * service's transaction, so writers never wait for each other. SQLite serialises writers
 * anyway; the same code path serves it.
 */
export function createEventSequencer(store: Store) {
  let tail: Promise<unknown> = Promise.resolve();
  let next: Promise<void> | null = null;

  async function numberBatch(): Promise<number> {
    return withAdvisoryLock(store, SEQUENCER_LOCK_ID, async (trx) => {
      const result = await sql`
        update events set id = numbered.position
        from (
          select key, (select coalesce(max(id), 0) from events) + row_number() over (order by key) as position
          from events where id is null order by key limit ${BATCH}
        ) as numbered
        where events.key = numbered.key`.execute(trx);
      return Number(result.numAffectedRows ?? 0);
    });
  }

  async function numberAll(): Promise<void> {
    while ((await numberBatch()) === BATCH);
  }

  /**
   * Resolves once every event committed before the call has its id. Concurrent callers share
   * runs: a call made while a run is under way waits for the next one, which starts after it.
   */
  function catchUp(): Promise<void> {
    if (!next) {
      next = tail.then(() => {
        next = null;
        return numberAll();
      });
      tail = next.catch(() => undefined);
    }
    return next;
  }

  return { catchUp };
}

export type EventSequencer = ReturnType<typeof createEventSequencer>;
