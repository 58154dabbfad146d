import type { Store } from '../../store/database.ts';
import type { EventService } from '../events/event-service.ts';
import type { QuotaService } from '../quotas/quota-service.ts';
import type { TaskHandlerRegistry } from '../tasks/handlers.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { registerAppHandlers } from './app-handlers.ts';
import { appQuotas } from './app-quotas.ts';
import { createAppService } from './app-service.ts';
import type { AppSettings } from './context.ts';

export type AppServices = ReturnType<typeof createAppServices>;

/** Apps and their task handlers. */
export function createAppServices(deps: { store: Store; events: EventService; tasks: TaskService; quotas: QuotaService; taskHandlers: TaskHandlerRegistry; settings: AppSettings }) {
  registerAppHandlers(deps.taskHandlers, deps);
  const limits = appQuotas(deps.quotas);
  return { apps: createAppService({ ...deps, limits }) };
}
