import type { Store } from '../store/database.ts';
import { createOauthServices } from './oauth/oauth-services.ts';
import { createInProcessNotifier, type Notifier } from '../store/notifier.ts';
import { createEventService } from './events/event-service.ts';
import { createIdempotencyService } from './idempotency/idempotency-service.ts';
import { createOrganizationService } from './organizations/organization-service.ts';
import { registerBuiltinTaskHandlers } from './tasks/builtin-handlers.ts';
import { createTaskHandlerRegistry } from './tasks/handlers.ts';
import { createTaskService } from './tasks/task-service.ts';
import { createTokenService } from './tokens/token-service.ts';

/**
 * Every core service, built once per process over one store. Surfaces receive this.
 * `notifier` carries wake-ups between processes (LISTEN/NOTIFY on PostgreSQL).
 */
export function createCoreServices(store: Store, { notifier = createInProcessNotifier() }: { notifier?: Notifier } = {}) {
  const events = createEventService({ store, notifier });
  const taskHandlers = createTaskHandlerRegistry();
  registerBuiltinTaskHandlers(taskHandlers);
  const tokens = createTokenService({ store });
  return {
    notifier,
    events,
    taskHandlers,
    tasks: createTaskService({ store, events, notifier, handlers: taskHandlers }),
    idempotency: createIdempotencyService({ store }),
    tokens,
    organizations: createOrganizationService({ store, events }),
    oauth: createOauthServices({ store, tokens }),
  };
}

export type CoreServices = ReturnType<typeof createCoreServices>;
