import type { Logger } from 'pino';
import { APPS_DEFAULTS } from '../../config.ts';
import type { AppHost } from '../../backends/app-host.ts';
import type { Store } from '../../store/database.ts';
import type { Notifier } from '../../store/notifier.ts';
import type { Capabilities } from '../capabilities/capabilities.ts';
import type { ComputeSettings } from '../compute/context.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { EventService } from '../events/event-service.ts';
import type { LongRequests } from '../long-requests.ts';
import type { QuotaService } from '../quotas/quota-service.ts';
import type { TaskHandlerRegistry } from '../tasks/handlers.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { registerAppHandlers, type AppImages } from './app-handlers.ts';
import { appQuotas } from './app-quotas.ts';
import { createAppService } from './app-service.ts';
import type { AppSettings } from './context.ts';
import { createCollaboratorService } from './collaborator-service.ts';
import { createDeploymentService } from './deployment-service.ts';
import { createDomainService } from './domain-service.ts';
import { createFormationService } from './formation-service.ts';
import { createLogService } from './log-service.ts';
import { appProcesses } from './processes.ts';
import { createRouteTable } from './route-table.ts';
import { createRunService } from './run-service.ts';
import { createSourceService } from './source-service.ts';
import { createSupervisor } from './supervisor.ts';
import { createVariableService } from './variable-service.ts';

/** Tunables of apps; tests shorten the waits. */
export interface AppRuntimeSettings {
  healthTimeoutMs: number;
  drainMs: number;
  logLinesPerApp: number;
  /** Largest total size of a source archive's files once unpacked. */
  unpackedLimit: number;
  superviseIntervalMs: number;
  /** How long an attached one-off run waits for its attachment before it fails. */
  attachWaitMs: number;
}

export const APP_RUNTIME_DEFAULTS: AppRuntimeSettings = { healthTimeoutMs: 60_000, drainMs: 1_000, logLinesPerApp: APPS_DEFAULTS.logLines, unpackedLimit: 1024 ** 3, superviseIntervalMs: 500, attachWaitMs: 60_000 };

export type AppServices = ReturnType<typeof createAppServices>;

/** Apps, their deployments, formation, variables and logs, with their task handlers; the supervisor and the route table for `nimbus serve`. */
export function createAppServices(deps: {
  store: Store;
  events: EventService;
  tasks: TaskService;
  quotas: QuotaService;
  notifier: Notifier;
  taskHandlers: TaskHandlerRegistry;
  settings: AppSettings;
  runtime: AppRuntimeSettings;
  host: AppHost;
  compute: ComputeSettings;
  longRequests: LongRequests;
  capabilities: Capabilities;
  /** Seals custom domains' private keys. */
  secrets: SecretBox;
  /** Compute's images, for releases made from an image. */
  images: AppImages;
}) {
  const { store, events, host, compute, runtime } = deps;
  /** Ends the live streams (build output, logs) at shutdown. */
  const closing = new AbortController();
  const limits = appQuotas(deps.quotas);
  const apps = createAppService({ ...deps, limits });
  const processes = appProcesses({ store, host, compute, settings: { healthTimeoutMs: runtime.healthTimeoutMs, drainMs: runtime.drainMs, stopTimeoutMs: compute.stopTimeoutMs } });
  const deployments = createDeploymentService({ ...deps, apps, limits, settings: { uploadDir: compute.uploadDir, unpackedLimit: runtime.unpackedLimit }, closing: closing.signal });
  registerAppHandlers(deps.taskHandlers, { ...deps, processes, limits, sourceLimits: deployments.sourceLimits });
  const logs = createLogService({ store, apps, settings: { linesPerApp: runtime.logLinesPerApp }, closing: closing.signal, longRequests: deps.longRequests, capabilities: deps.capabilities });
  return {
    host,
    apps,
    deployments,
    sources: createSourceService({ host, capabilities: deps.capabilities, settings: { uploadDir: compute.uploadDir } }),
    formation: createFormationService({ ...deps, apps, limits }),
    variables: createVariableService({ store, events, apps }),
    collaborators: createCollaboratorService({ store, events, apps }),
    domains: createDomainService({ store, events, apps, secrets: deps.secrets, settings: deps.settings }),
    runs: createRunService({ ...deps, apps, closing: closing.signal }),
    logs,
    routes: createRouteTable({ store, settings: deps.settings, hostId: compute.hostId, secrets: deps.secrets }),
    close: () => closing.abort(),
    /** At start-up: releases app containers, slugs and builds that no record owns. */
    async sweep(): Promise<string[]> {
      const processIds = (await store.db.selectFrom('app_containers').select('id').where('host', '=', compute.hostId).execute()).map((r) => r.id);
      const slugs = (await store.db.selectFrom('app_releases').select('slug_id').execute()).map((r) => r.slug_id);
      return host.sweep({ processes: new Set(processIds), slugs: new Set(slugs) });
    },
    supervisor: (logger: Logger) => createSupervisor({ store, host, processes, logs, events, logger, settings: { hostId: compute.hostId, intervalMs: runtime.superviseIntervalMs } }),
  };
}
