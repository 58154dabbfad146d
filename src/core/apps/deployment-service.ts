import fs from 'node:fs';
import path from 'node:path';
import { ComputeRejected } from '../../backends/compute-host.ts';
import type { AppHost } from '../../backends/app-host.ts';
import type { Store } from '../../store/database.ts';
import type { Notifier } from '../../store/notifier.ts';
import type { Transaction } from 'kysely';
import type { AppDeploymentRow, AppReleaseRow, AppRow, Database } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { asDomainError } from '../compute/context.ts';
import { InvalidState, NotFound, ValidationFailed } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import type { LongRequests } from '../long-requests.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { Task, TaskService } from '../tasks/task-service.ts';
import type { AppService } from './app-service.ts';
import { appEvent } from './context.ts';
import { deploymentChanges } from './deployment-feed.ts';
import { heldBy, streamOutput } from './output.ts';
import type { AppQuotas } from './app-quotas.ts';
import { processTypesOf, SIZES } from './plans.ts';

export interface DeploymentSettings {
  /** Where archives wait for their build. */
  uploadDir: string;
  /** Largest total size of an archive's unpacked files. */
  unpackedLimit: number;
}

export const SOURCE_ENTRIES_LIMIT = 100_000;
/** A git reference as a deployment records it (it names images and directories: no leading hyphen, no spaces). */
const GIT_REF = /^[A-Za-z0-9._/][A-Za-z0-9._/-]{0,199}$/;
const FINISHED = new Set(['success', 'build-error', 'crashed-error', 'timeout-error', 'aborted']);

const deploymentList: ListSpec = { filters: {}, searchColumns: [], orderings: { created_at: 'created_at' }, defaultOrdering: '-created_at', idColumn: 'id' };
const releaseList: ListSpec = { filters: {}, searchColumns: [], orderings: { version: 'version' }, defaultOrdering: '-version', idColumn: 'id' };

export type DeploymentService = ReturnType<typeof createDeploymentService>;

/** Deployments (a source archive built into a release and rolled out), their output, releases and rollbacks. */
export function createDeploymentService(deps: { store: Store; events: EventService; tasks: TaskService; notifier: Notifier; host: AppHost; apps: AppService; limits: AppQuotas; settings: DeploymentSettings; closing: AbortSignal; longRequests: LongRequests }) {
  const { store, events, tasks, host, apps, limits, settings } = deps;
  const { db } = store;
  const sourceLimits = { unpackedBytes: settings.unpackedLimit, entries: SOURCE_ENTRIES_LIMIT };

  async function findDeployment(actor: Actor, appRef: string, id: string): Promise<AppDeploymentRow> {
    const app = await apps.reach(actor, appRef, 'read');
    const row = isUuid(id) ? await db.selectFrom('app_deployments').selectAll().where('app_id', '=', app.id).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('deployment', 'No deployment matches the given query.');
    return row;
  }

  /**
   * A deployment of the archive `receive` writes (the request body, streamed to disk under its
   * size cap). The archive is read before anything is recorded: one that is not a tar, holds a
   * path leaving the app, or has no web process is a 400 and changes nothing.
   */
  async function create(actor: Actor, appRef: string, receive: (file: string) => Promise<void>, options: { gitRef?: string } = {}): Promise<{ deployment: AppDeploymentRow; task: Task }> {
    const app = await apps.reach(actor, appRef, 'write');
    if (options.gitRef !== undefined && !GIT_REF.test(options.gitRef)) throw ValidationFailed.field('git_ref', 'must be 1 to 200 letters, digits, dots, slashes, underscores or hyphens, not starting with a hyphen');
    if (app.status === 'deleting') throw new InvalidState(app.status, ['new', 'running'], 'The app is being deleted.');
    await host.ensureAvailable().catch((error: unknown) => {
      throw asDomainError(error);
    });
    const id = newId();
    fs.mkdirSync(settings.uploadDir, { recursive: true, mode: 0o700 });
    const archive = path.join(settings.uploadDir, `app-${id}.tar`);
    try {
      await receive(archive);
      const size = fs.statSync(archive).size;
      if (size === 0) throw ValidationFailed.field('source', 'The archive is empty: send a .tar or .tar.gz of the app as the request body.');
      const facts = await host.inspectSource(archive, sourceLimits).catch((error: unknown) => {
        if (error instanceof ComputeRejected) throw ValidationFailed.field('source', error.message);
        throw asDomainError(error);
      });
      const processTypes = processTypesOf(facts, app.stack);
      return await db.transaction().execute(async (trx) => {
        const row: AppDeploymentRow = { id, app_id: app.id, status: 'queued', stack: app.stack, archive_bytes: size, release_id: null, error: null, task_id: '', requested_by: actor.principal.userId, git_ref: options.gitRef ?? null, created_at: nowIso(), finished_at: null };
        const task = await tasks.enqueue(trx, actor, { type: 'app.deploy', input: { app_id: app.id, deployment_id: id, archive, process_types: processTypes } });
        row.task_id = task.id;
        await trx.insertInto('app_deployments').values(row).execute();
        await events.record(trx, appEvent(app, 'deployment', actor, { deployment: id, status: 'queued' }));
        return { deployment: row, task };
      });
    } catch (error) {
      fs.rmSync(archive, { force: true });
      throw error;
    }
  }

  /**
   * Within `trx`: a deployment of a release made from an image, for a new app (an order's
   * container service). Compute images are root filesystems, not sources: the release's slug is
   * a copy of the image's files and its processes run on it as their root (not on a stack), its
   * one `web` process running `command` at `size`. Nothing is built, so any image Nimbus has
   * (built-in, uploaded tarball or OCI archive, made from a snapshot) runs as it is.
   */
  async function fromImage(trx: Transaction<Database>, actor: Actor, app: AppRow, input: { imageId: string; command: string; size: string }): Promise<{ deployment: AppDeploymentRow; task: Task }> {
    if (!(await trx.selectFrom('app_formation').select('process_type').where('app_id', '=', app.id).where('process_type', '=', 'web').executeTakeFirst())) {
      await limits.forMemory(trx, app.organization_id, SIZES[input.size]!.memoryBytes);
      await trx.insertInto('app_formation').values({ app_id: app.id, process_type: 'web', amount: 1, size: input.size, paused_amount: null }).execute();
    }
    const deployment: AppDeploymentRow = { id: newId(), app_id: app.id, status: 'queued', stack: app.stack, archive_bytes: 0, release_id: null, error: null, task_id: '', requested_by: actor.principal.userId, created_at: nowIso(), finished_at: null, git_ref: null };
    const task = await tasks.enqueue(trx, actor, { type: 'app.deploy', input: { app_id: app.id, deployment_id: deployment.id, image_id: input.imageId, process_types: { web: input.command } } });
    deployment.task_id = task.id;
    await trx.insertInto('app_deployments').values(deployment).execute();
    await events.record(trx, appEvent(app, 'deployment', actor, { deployment: deployment.id, status: 'queued', image: input.imageId }));
    return { deployment, task };
  }

  async function list(actor: Actor, appRef: string, request: ListRequest): Promise<ListResult<AppDeploymentRow>> {
    const app = await apps.reach(actor, appRef, 'read');
    return runList<AppDeploymentRow>(db, db.selectFrom('app_deployments').selectAll().where('app_id', '=', app.id), deploymentList, request);
  }

  async function get(actor: Actor, appRef: string, id: string): Promise<AppDeploymentRow> {
    return findDeployment(actor, appRef, id);
  }

  /** The build output: what is stored, then each chunk as it is stored, until the deployment has finished. */
  async function followOutput(actor: Actor, appRef: string, id: string, options: { afterSeq: number; signal: AbortSignal; idleMs: number }) {
    const deployment = await findDeployment(actor, appRef, id);
    const finished = async () => {
      const current = await db.selectFrom('app_deployments').select('status').where('id', '=', deployment.id).executeTakeFirst();
      return !current ? 'aborted' : FINISHED.has(current.status) ? current.status : null;
    };
    const held = deps.longRequests.open(actor, (current) => apps.reach(current, deployment.app_id, 'read'));
    return heldBy(held, options.signal, streamOutput(deps, deployment.id, finished, { ...options, signal: AbortSignal.any([options.signal, deps.closing]) }));
  }

  /**
   * The app's deployments as they happen (see `deploymentChanges`), for as long as the caller
   * may read the app; the stream holds one of the caller's long-request slots.
   */
  async function follow(actor: Actor, appRef: string, options: { signal: AbortSignal; idleMs: number }) {
    const app = await apps.reach(actor, appRef, 'read');
    const held = deps.longRequests.open(actor, (current) => apps.reach(current, app.id, 'read'));
    return heldBy(held, options.signal, deploymentChanges(deps, app.id, FINISHED, { ...options, signal: AbortSignal.any([options.signal, deps.closing]) }));
  }

  async function releases(actor: Actor, appRef: string, request: ListRequest): Promise<ListResult<AppReleaseRow>> {
    const app = await apps.reach(actor, appRef, 'read');
    return runList<AppReleaseRow>(db, db.selectFrom('app_releases').selectAll().where('app_id', '=', app.id), releaseList, request);
  }

  /** Back to an earlier release: a new release of its slug and Procfile (with today's variables), rolled out without downtime. */
  async function rollback(actor: Actor, appRef: string, input: { release?: string; version?: number }): Promise<Task> {
    const app = await apps.reach(actor, appRef, 'write');
    if (app.status === 'deleting') throw new InvalidState(app.status, ['running'], 'The app is being deleted.');
    let query = db.selectFrom('app_releases').selectAll().where('app_id', '=', app.id);
    if (input.release !== undefined) query = isUuid(input.release) ? query.where('id', '=', input.release) : query.where('id', '=', '');
    else if (input.version !== undefined) query = query.where('version', '=', input.version);
    else throw ValidationFailed.field('version', 'Name the release to go back to: `version` or `release`.');
    const target = await query.executeTakeFirst();
    if (!target) throw ValidationFailed.field(input.release !== undefined ? 'release' : 'version', 'No release of this app matches.');
    return db.transaction().execute(async (trx) => {
      await events.record(trx, appEvent(app, 'rollback', actor, { to_version: target.version }));
      return tasks.enqueue(trx, actor, { type: 'app.rollback', input: { app_id: app.id, release_id: target.id } });
    });
  }

  return { create, fromImage, list, get, followOutput, follow, releases, rollback, sourceLimits };
}
