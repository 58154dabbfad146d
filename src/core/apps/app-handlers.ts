import fs from 'node:fs';
import type { AppHost } from '../../backends/app-host.ts';
import type { Store } from '../../store/database.ts';
import type { Notifier } from '../../store/notifier.ts';
import type { AppReleaseRow, AppRow, DeploymentStatus } from '../../store/schema.ts';
import { createOutputRecorder, DEFAULT_OUTPUT_BATCHING } from '../commands/output-recorder.ts';
import { newId, nowIso } from '../clock.ts';
import { Conflict } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import type { TaskContext, TaskHandlerRegistry } from '../tasks/handlers.ts';
import type { AppQuotas } from './app-quotas.ts';
import { appEvent } from './context.ts';
import type { SourceLimits } from '../../backends/app-host.ts';
import { BUILD_LIMITS, DEFAULT_SIZE, SIZES } from './plans.ts';
import { RolloutFailed, type Processes } from './processes.ts';
import { recordRelease, variablesOf } from './releases.ts';

/** A build's stored output: its end is what says why it failed. */
const BUILD_OUTPUT = { ...DEFAULT_OUTPUT_BATCHING, limitChars: 1024 * 1024 };

const appOf = (input: Record<string, unknown>) => [{ type: 'app', id: String(input.app_id) }];

/** A deployment that ended in failure: the task fails with its reason; the running release is untouched. */
export class DeploymentFailed extends Conflict {
  constructor(message: string) {
    super(message, 'deployment_failed');
  }
}

/** What apps need of compute's images: the built-in one is made on first use; others must be ready (a Conflict says why not). */
export interface AppImages {
  ensureReady(imageId: string): Promise<void>;
}

/** The tasks of apps. Each is safe to run again after a crash: steps are recorded, host calls keyed by ids. */
export function registerAppHandlers(registry: TaskHandlerRegistry, deps: { store: Store; events: EventService; notifier: Notifier; host: AppHost; processes: Processes; limits: AppQuotas; sourceLimits: SourceLimits; images: AppImages }): void {
  const { store, events, notifier, host, processes, limits } = deps;
  const { db } = store;

  const loadApp = (id: string) => db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
  const loadRelease = (id: string) => db.selectFrom('app_releases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const formationOf = (appId: string) => db.selectFrom('app_formation').selectAll().where('app_id', '=', appId).orderBy('process_type').execute();

  /** An app task on an app that still exists and is not being deleted. */
  function appTask(work: (ctx: TaskContext, app: AppRow) => Promise<unknown>) {
    return {
      resourcesOf: appOf,
      async run(ctx: TaskContext) {
        const app = await loadApp(String(ctx.input.app_id));
        if (!app || app.status === 'deleting') return { gone: true };
        return (await work(ctx, app)) ?? {};
      },
    };
  }

  async function setDeployment(id: string, status: DeploymentStatus, fields: { error?: string; release_id?: string } = {}): Promise<void> {
    const finished = ['success', 'build-error', 'crashed-error', 'timeout-error'].includes(status);
    await db.updateTable('app_deployments').set({ status, ...fields, ...(finished ? { finished_at: nowIso() } : {}) }).where('id', '=', id).execute();
  }

  /** Makes `release` the app's running release with the current formation (types it lacks get web 1, others 0). */
  async function runRelease(ctx: TaskContext, app: AppRow, release: AppReleaseRow): Promise<void> {
    const types = Object.keys(JSON.parse(release.procfile) as Record<string, string>);
    await ctx.step(`formation-${release.id}`, async (trx) => {
      const existing = new Set((await trx.selectFrom('app_formation').select('process_type').where('app_id', '=', app.id).execute()).map((r) => r.process_type));
      const added = types.filter((t) => !existing.has(t)).map((t) => ({ app_id: app.id, process_type: t, amount: t === 'web' ? 1 : 0, size: DEFAULT_SIZE }));
      if (added.length) {
        await limits.forMemory(trx, app.organization_id, added.reduce((total, row) => total + row.amount * SIZES[row.size]!.memoryBytes, 0));
        await trx.insertInto('app_formation').values(added).execute();
      }
      return null;
    });
    const formation = (await formationOf(app.id)).filter((row) => types.includes(row.process_type));
    await processes.rollOut(app, release, formation, undefined, ctx.signal);
    await ctx.step(`current-${release.id}`, async (trx) => {
      await trx.updateTable('apps').set({ current_release_id: release.id, status: 'running', last_deployed_at: nowIso(), updated_at: nowIso() }).where('id', '=', app.id).execute();
      return null;
    });
  }

  registry.register(
    'app.deploy',
    appTask(async (ctx, app) => {
      const deploymentId = String(ctx.input.deployment_id);
      const archive = String(ctx.input.archive ?? '');
      const imageId = typeof ctx.input.image_id === 'string' ? ctx.input.image_id : null;
      const fail = async (status: DeploymentStatus, message: string): Promise<never> => {
        await setDeployment(deploymentId, status, { error: message });
        await db.updateTable('apps').set({ status: app.current_release_id ? app.status : 'new', updated_at: nowIso() }).where('id', '=', app.id).execute();
        await events.record(db, appEvent(app, 'deployment', null, { deployment: deploymentId, status, error: message }));
        throw new DeploymentFailed(message);
      };
      try {
        let slugId = await ctx.step('slug', async () => null as string | null);
        if (slugId === null && imageId !== null) {
          // A release made from an image: its root filesystem, copied, is the slug; nothing is built.
          await setDeployment(deploymentId, 'building');
          if (!app.current_release_id) await db.updateTable('apps').set({ status: 'building' }).where('id', '=', app.id).execute();
          const newSlug = await ctx.step('image-slug', async () => newId());
          try {
            await deps.images.ensureReady(imageId);
          } catch (error) {
            if (error instanceof Conflict) await fail('build-error', error.message);
            throw error;
          }
          await host.slugFromImage(imageId, newSlug);
          slugId = await ctx.step('slug-ready', async () => newSlug);
        }
        if (slugId === null) {
          await setDeployment(deploymentId, 'building');
          if (!app.current_release_id) await db.updateTable('apps').set({ status: 'building' }).where('id', '=', app.id).execute();
          const recorder = createOutputRecorder(db, notifier, { appId: app.id, ownerId: deploymentId }, BUILD_OUTPUT);
          const env = await variablesOf(db, app.id);
          let exitCode: number;
          try {
            ({ exitCode } = await host.build({ id: deploymentId, archivePath: archive, stack: String((await db.selectFrom('app_deployments').select('stack').where('id', '=', deploymentId).executeTakeFirstOrThrow()).stack), env, limits: BUILD_LIMITS, onOutput: (text) => recorder.write(text), signal: ctx.signal }, deps.sourceLimits));
          } finally {
            await recorder.close().catch(() => undefined);
          }
          if (exitCode !== 0) {
            await host.removeBuild(deploymentId);
            await fail('build-error', `The build failed (exit code ${exitCode}); the output says why.`);
          }
          const newSlug = newId();
          await host.promote(deploymentId, newSlug);
          slugId = await ctx.step('slug-ready', async () => newSlug);
        }
        await setDeployment(deploymentId, 'pushing');
        const release = await ctx.step('release', async (trx) => recordRelease(trx, app, { slugId: slugId!, imageId, procfile: ctx.input.process_types as Record<string, string>, deploymentId, description: 'deployment' }));
        await setDeployment(deploymentId, 'starting', { release_id: release.id });
        try {
          await runRelease(ctx, app, release);
        } catch (error) {
          if (error instanceof RolloutFailed) await fail(error.timedOut ? 'timeout-error' : 'crashed-error', error.message);
          throw error;
        }
        await setDeployment(deploymentId, 'success');
        await events.record(db, appEvent(app, 'deployment', null, { deployment: deploymentId, status: 'success', version: release.version }));
        return { release: release.id, version: release.version };
      } finally {
        if (archive) fs.rmSync(archive, { force: true });
      }
    }),
  );

  registry.register(
    'app.rollback',
    appTask(async (ctx, app) => {
      const target = await loadRelease(String(ctx.input.release_id));
      const release = await ctx.step('release', async (trx) => recordRelease(trx, app, { slugId: target.slug_id, imageId: target.image_id, procfile: JSON.parse(target.procfile) as Record<string, string>, deploymentId: null, description: `rollback to v${target.version}` }));
      await runRelease(ctx, app, release);
      return { release: release.id, version: release.version };
    }),
  );

  /** Scale and restart: the current release's formation rolled out again for some types. */
  const reformation = appTask(async (ctx, app) => {
    if (!app.current_release_id) return { nothing: true };
    const release = await loadRelease(app.current_release_id);
    const only = new Set((ctx.input.process_types as string[] | undefined) ?? []);
    await processes.rollOut(app, release, await formationOf(app.id), only, ctx.signal);
    return {};
  });
  registry.register('app.scale', reformation);
  registry.register('app.restart', reformation);

  registry.register('app.delete', {
    resourcesOf: appOf,
    async run(ctx) {
      const appId = String(ctx.input.app_id);
      const app = await loadApp(appId);
      if (!app) return { gone: true };
      await processes.stopAll(appId);
      for (const release of await db.selectFrom('app_releases').select('slug_id').where('app_id', '=', appId).execute()) await host.removeSlug(release.slug_id);
      for (const deployment of await db.selectFrom('app_deployments').select('id').where('app_id', '=', appId).execute()) await host.removeBuild(deployment.id);
      await ctx.step('deleted', async (trx) => {
        await trx.deleteFrom('apps').where('id', '=', appId).execute();
        await events.record(trx, appEvent(app, 'app_deleted', null));
        return null;
      });
      return {};
    },
  });
}
