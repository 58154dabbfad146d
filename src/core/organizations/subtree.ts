import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';

/**
 * The ids of the organization at `path` and of everything below it: the tenancy filter for any
 * table with an `organization_id` (`where organization_id in (...)`).
 */
export function organizationIdsUnder(db: Kysely<Database>, path: string) {
  return db.selectFrom('organizations').select('id').where('path', 'like', `${path}%`);
}
