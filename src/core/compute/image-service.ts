import fs from 'node:fs';
import type { ImageRow } from '../../store/schema.ts';
import { BUILTIN_IMAGE_ID } from '../../store/migrations/0400_compute.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Conflict, InvalidState, NotFound, ValidationFailed, type FieldErrors } from '../errors.ts';
import { choiceFilter, runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { Task } from '../tasks/task-service.ts';
import type { ComputeQuotas } from './compute-quotas.ts';
import { assertComputeAvailable, computeEvent, uploadPath, type ComputeDeps, type Executor } from './context.ts';
import { checkName, hasErrors } from './inputs.ts';
import { toImage, type Image } from './records.ts';
import { availableSnapshot } from './snapshot-lookup.ts';

export { BUILTIN_IMAGE_ID };

const STATUSES = ['pending', 'ready', 'error'];

const listSpec: ListSpec = {
  filters: {
    name: (query, value) => query.where('name', '=', value),
    status: choiceFilter('status', 'status', STATUSES),
  },
  searchColumns: ['name'],
  orderings: { name: 'name', created_at: 'created_at' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

export type ImageService = ReturnType<typeof createImageService>;

/** Images: the public built-in one, and each organization's own (uploaded, or made from a snapshot). */
export function createImageService(deps: ComputeDeps & { limits: ComputeQuotas }) {
  const { store, events, tasks, host, settings, limits } = deps;
  const { db } = store;

  /** Public images and the acting subtree's own. */
  const visible = (actor: Actor, executor: Executor = db) =>
    executor
      .selectFrom('images')
      .selectAll()
      .where((eb) => eb.or([eb('organization_path', 'is', null), eb('organization_path', 'like', `${actor.organizationPath}%`)]));

  async function findVisible(actor: Actor, id: string, executor: Executor = db): Promise<ImageRow> {
    const row = isUuid(id) ? await visible(actor, executor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('image', 'No image matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Image>> {
    assertAllowed(actor, 'image:read');
    const result = await runList<ImageRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toImage) } as ListResult<Image>;
  }

  async function get(actor: Actor, id: string): Promise<Image> {
    assertAllowed(actor, 'image:read');
    return toImage(await findVisible(actor, id));
  }

  /** The image a new server may boot from (a field error otherwise): ready, or the built-in one (prepared by the server's task). */
  async function findUsable(actor: Actor, id: string): Promise<ImageRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw ValidationFailed.field('image_id', `Invalid pk "${id}" - object does not exist.`);
    if (row.status !== 'ready' && row.source !== 'builtin') throw ValidationFailed.field('image_id', `The image is ${row.status}; a server needs a ready image.`);
    return row;
  }

  function newImage(actor: Actor, name: string, source: ImageRow['source'], snapshotId: string | null): ImageRow {
    const now = nowIso();
    return {
      id: newId(),
      organization_id: actor.organizationId,
      organization_path: actor.organizationPath,
      name: name.trim(),
      arch: '',
      size_bytes: 0,
      status: 'pending',
      source,
      snapshot_id: snapshotId,
      error: null,
      created_at: now,
      updated_at: now,
    };
  }

  async function insertWithTask(actor: Actor, row: ImageRow, task: { type: string; input: Record<string, unknown> }): Promise<{ image: Image; task: Task }> {
    return db.transaction().execute(async (trx) => {
      await record(trx, actor, row);
      return { image: toImage(row), task: await tasks.enqueue(trx, actor, task) };
    });
  }

  /** Records, within `trx`, an image about to be made (counted in the quota); the caller enqueues the task that makes it. */
  async function record(trx: Executor, actor: Actor, row: ImageRow): Promise<void> {
    await limits.forImage(trx, actor.organizationId);
    await trx.insertInto('images').values(row).execute();
    await events.record(trx, computeEvent({ ...row, organization_id: row.organization_id!, organization_path: row.organization_path! }, 'image', 'created', actor, { name: row.name, source: row.source }));
  }

  /**
   * An image from an uploaded archive. `receive` writes the request body to the path it is
   * given (and may throw, e.g. when the body is too large); nothing is recorded until it has.
   */
  async function importUpload(actor: Actor, input: { name?: string }, receive: (file: string) => Promise<void>): Promise<{ image: Image; task: Task }> {
    assertAllowed(actor, 'image:write');
    const errors: FieldErrors = {};
    checkName(errors, 'name', input.name, { required: true });
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    await assertComputeAvailable(host);
    // The quota is checked before the upload too, so that a refused request does not transfer gigabytes.
    await limits.forImage(db, actor.organizationId);
    const row = newImage(actor, input.name!, 'upload', null);
    const file = uploadPath(settings, row.id);
    fs.mkdirSync(settings.uploadDir, { recursive: true, mode: 0o700 });
    try {
      await receive(file);
      if (fs.statSync(file).size === 0) throw ValidationFailed.field('file', 'The upload is empty; send a .tar, .tar.gz or OCI image archive as the request body.');
      // The task finds the upload by the image's id: a host path never shows in a tenant's task.
      return await insertWithTask(actor, row, { type: 'image.import', input: { image_id: row.id } });
    } catch (error) {
      fs.rmSync(file, { force: true });
      throw error;
    }
  }

  /** An image whose root filesystem is an available snapshot's. */
  async function fromSnapshot(actor: Actor, input: { name?: string; snapshot?: string }): Promise<{ image: Image; task: Task }> {
    assertAllowed(actor, 'image:write');
    const errors: FieldErrors = {};
    checkName(errors, 'name', input.name, { required: true });
    if (input.snapshot === undefined) errors.snapshot = ['This field is required.'];
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    const snapshot = await availableSnapshot(db, actor, input.snapshot, 'an image', 'snapshot');
    await assertComputeAvailable(host);
    const row = newImage(actor, input.name!, 'snapshot', snapshot.id);
    return insertWithTask(actor, row, { type: 'image.from_snapshot', input: { image_id: row.id } });
  }

  /** An image no server boots from; the built-in one stays. */
  async function remove(actor: Actor, id: string): Promise<Task> {
    assertAllowed(actor, 'image:write');
    const current = await findVisible(actor, id);
    if (current.organization_id === null) throw new Conflict('The built-in image cannot be deleted.', 'builtin_image');
    if (current.status === 'pending') throw new InvalidState(current.status, ['ready', 'error'], 'The image is still being made; delete it once it is ready or has failed.', 'image');
    const users = await db.selectFrom('servers').select('id').where('image_id', '=', current.id).limit(1).execute();
    if (users.length) throw new Conflict('Servers boot from this image; delete them first.', 'image_in_use');
    const bases = await db.selectFrom('snapshots').select('id').where('base_image_id', '=', current.id).limit(1).execute();
    if (bases.length) throw new Conflict('Snapshots of root volumes are layered over this image; delete them first.', 'image_in_use');
    await assertComputeAvailable(host);
    return db.transaction().execute(async (trx) => {
      const moved = await trx.updateTable('images').set({ status: 'pending', updated_at: nowIso() }).where('id', '=', current.id).where('status', '=', current.status).executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new InvalidState('pending', ['ready', 'error'], undefined, 'image');
      return tasks.enqueue(trx, actor, { type: 'image.delete', input: { image_id: current.id } });
    });
  }

  return { list, get, findUsable, importUpload, fromSnapshot, newImage, record, remove };
}
