import type { Store } from '../../store/database.ts';
import type { EventService } from '../events/event-service.ts';
import type { TaskHandlerRegistry } from '../tasks/handlers.ts';
import { appEvent } from './context.ts';

const appOf = (input: Record<string, unknown>) => [{ type: 'app', id: String(input.app_id) }];

/** The tasks of apps. Each is safe to run again after a crash. */
export function registerAppHandlers(registry: TaskHandlerRegistry, deps: { store: Store; events: EventService }): void {
  const { store, events } = deps;

  registry.register('app.delete', {
    resourcesOf: appOf,
    async run(ctx) {
      const appId = String(ctx.input.app_id);
      const app = await store.db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
      if (!app) return { gone: true };
      await ctx.step('deleted', async (trx) => {
        await trx.deleteFrom('apps').where('id', '=', appId).execute();
        await events.record(trx, appEvent(app, 'app_deleted', null));
        return null;
      });
      return {};
    },
  });
}
