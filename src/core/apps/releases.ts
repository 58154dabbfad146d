import type { Transaction } from 'kysely';
import type { AppReleaseRow, AppRow, Database } from '../../store/schema.ts';
import { newId, nowIso } from '../clock.ts';
import type { Executor } from '../compute/context.ts';

/** The app's variables as one object: a release's environment snapshot. */
export async function variablesOf(executor: Executor, appId: string): Promise<Record<string, string>> {
  const rows = await executor.selectFrom('app_variables').select(['name', 'value']).where('app_id', '=', appId).orderBy('name').execute();
  return Object.fromEntries(rows.map((r) => [r.name, r.value]));
}

/**
 * Records the next release of the app (version n + 1): immutable, it names its slug, Procfile and
 * environment, and the image the slug was made from (then the slug is the processes' root filesystem).
 */
export async function recordRelease(trx: Transaction<Database>, app: Pick<AppRow, 'id'>, fields: { slugId: string; imageId: string | null; procfile: Record<string, string>; deploymentId: string | null; description: string }): Promise<AppReleaseRow> {
  const last = await trx.selectFrom('app_releases').select((eb) => eb.fn.max('version').as('v')).where('app_id', '=', app.id).executeTakeFirst();
  const row: AppReleaseRow = {
    id: newId(),
    app_id: app.id,
    version: Number(last?.v ?? 0) + 1,
    deployment_id: fields.deploymentId,
    slug_id: fields.slugId,
    procfile: JSON.stringify(fields.procfile),
    env: JSON.stringify(await variablesOf(trx, app.id)),
    description: fields.description,
    created_at: nowIso(),
    image_id: fields.imageId,
  };
  await trx.insertInto('app_releases').values(row).execute();
  return row;
}

/**
 * A new release of the current one's slug and Procfile with the app's variables as they are now,
 * made current; it restarts nothing (running processes keep their release until they restart).
 * No-op before the first deployment.
 */
export async function releaseVariables(trx: Transaction<Database>, app: AppRow, description: string): Promise<void> {
  if (!app.current_release_id) return;
  const current = await trx.selectFrom('app_releases').selectAll().where('id', '=', app.current_release_id).executeTakeFirstOrThrow();
  const release = await recordRelease(trx, app, { slugId: current.slug_id, imageId: current.image_id, procfile: JSON.parse(current.procfile) as Record<string, string>, deploymentId: null, description });
  await trx.updateTable('apps').set({ current_release_id: release.id, updated_at: nowIso() }).where('id', '=', app.id).execute();
}
