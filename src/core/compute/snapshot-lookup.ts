import type { SnapshotRow } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import { isUuid } from '../clock.ts';
import { ValidationFailed } from '../errors.ts';
import type { Executor } from './context.ts';

/**
 * The snapshot a new volume or image is made from, as the request's `snapshot` field names it:
 * visible to the actor and available, or a field error.
 */
export async function availableSnapshot(db: Executor, actor: Actor, id: string | undefined, made: 'a volume' | 'an image', field: string): Promise<SnapshotRow> {
  const snapshot = id !== undefined && isUuid(id)
    ? await db.selectFrom('snapshots').selectAll().where('id', '=', id).where('organization_path', 'like', `${actor.organizationPath}%`).executeTakeFirst()
    : undefined;
  if (!snapshot) throw ValidationFailed.field(field, `Invalid pk "${id}" - object does not exist.`);
  if (snapshot.state !== 'available') throw ValidationFailed.field(field, `The snapshot is ${snapshot.state}; ${made} is made from an available snapshot.`);
  return snapshot;
}
