import { APPS_DEFAULTS, COMPUTE_DEFAULTS, DEFAULT_IDENTITY_SETTINGS, DNS_DEFAULTS, LIMIT_DEFAULTS, type Config, type IdentitySettings } from '../config.ts';
import type { Store } from '../store/database.ts';
import { createInProcessNotifier, type Notifier } from '../store/notifier.ts';
import { APP_RUNTIME_DEFAULTS, createAppServices, type AppRuntimeSettings } from './apps/app-services.ts';
import type { AppHost } from '../backends/app-host.ts';
import type { AppSettings } from './apps/context.ts';
import { CATALOG_DEFAULTS, createCatalogService, type CatalogSettings } from './catalog/catalog-service.ts';
import { createAuditService } from './audit/audit-service.ts';
import { createAuthService } from './auth/auth-service.ts';
import { createLoginThrottle } from './auth/login-throttle.ts';
import { createPrincipalResolver } from './auth/principals.ts';
import type { ComputeHost } from '../backends/compute-host.ts';
import { parseRange } from './compute/addresses.ts';
import { createComputeServices } from './compute/compute-services.ts';
import type { ComputeSettings } from './compute/context.ts';
import { unconfiguredAppHost, unconfiguredComputeHost } from './compute/unconfigured-host.ts';
import { createCapabilities } from './capabilities/capabilities.ts';
import { createCommandService } from './commands/command-service.ts';
import { createCredentialService } from './credentials/credential-service.ts';
import { createEnvironmentService } from './environments/environment-service.ts';
import { createServiceConnectionService } from './environments/service-connections.ts';
import type { ZonePublisher } from './dns/changes.ts';
import { createDnsServices } from './dns/dns-services.ts';
import type { DnsSettings } from './dns/model.ts';
import { createEventService } from './events/event-service.ts';
import { createAccessService } from './iam/access-service.ts';
import { createGroupService } from './iam/group-service.ts';
import { createMembershipService } from './iam/membership-service.ts';
import { createRoleBindingService } from './iam/role-binding-service.ts';
import { createIdempotencyService } from './idempotency/idempotency-service.ts';
import type { SecretBox } from './secrets/secret-box.ts';
import { createLongRequests } from './long-requests.ts';
import { createOauthServices } from './oauth/oauth-services.ts';
import { CredentialCache } from './auth/credential-cache.ts';
import { createOrganizationService } from './organizations/organization-service.ts';
import { createProjectService } from './projects/project-service.ts';
import { createImageTemplateService } from './image-templates/image-template-service.ts';
import { createOrderService } from './orders/order-service.ts';
import { createQuotaService } from './quotas/quota-service.ts';
import { createRateLimiter } from './ratelimit/rate-limiter.ts';
import { registerBuiltinTaskHandlers } from './tasks/builtin-handlers.ts';
import { createTaskHandlerRegistry } from './tasks/handlers.ts';
import { createTaskService } from './tasks/task-service.ts';
import { createAccountTokenService } from './tokens/account-token-service.ts';
import { createApiKeyService } from './tokens/api-key-service.ts';
import { createBearerService } from './tokens/bearer-service.ts';
import { createTokenService } from './tokens/token-service.ts';
import { createUserService } from './users/user-service.ts';
import { createRegistration } from './users/registration.ts';
import { createWebshService } from './websh/websh-service.ts';
import { createOutputChannels } from './commands/output-channels.ts';
import { createTransferService } from './transfers/transfer-service.ts';
import { createTokenAclService } from './token-acl/token-acl-service.ts';
import { createRegistrationTokenService } from './registration/registration-token-service.ts';
import { createNoteService } from './notes/note-service.ts';

/**
 * Every core service, built once per process over one store. Surfaces receive this.
 * `notifier` carries wake-ups between processes (LISTEN/NOTIFY on PostgreSQL); `computeServiceCode`
 * is the code of the compute service connection (`compute` unless configured).
 */
export function createCoreServices(
  store: Store,
  {
    secrets,
    identity = DEFAULT_IDENTITY_SETTINGS,
    notifier = createInProcessNotifier(),
    compute = { host: unconfiguredComputeHost(), appHost: unconfiguredAppHost(), settings: UNCONFIGURED_COMPUTE },
    limits = LIMIT_DEFAULTS,
    computeServiceCode,
    dns = { settings: { nameservers: [...DNS_DEFAULTS.nameservers], secondaries: [] } },
    apps = APPS_DEFAULTS,
    appRuntime = APP_RUNTIME_DEFAULTS,
    catalog = CATALOG_DEFAULTS,
  }: {
    /** Seals the secrets kept in the database with a key kept outside it. */
    secrets: SecretBox;
    identity?: IdentitySettings;
    notifier?: Notifier;
    compute?: { host: ComputeHost; appHost: AppHost; settings: ComputeSettings };
    /** Command timeouts and output, and the open streams and long polls allowed per credential and per process. */
    limits?: Pick<Config, keyof typeof LIMIT_DEFAULTS>;
    /** The code of the compute service connection (`compute` unless configured). */
    computeServiceCode?: string;
    /** The deployment's name servers and secondaries, and what sends NOTIFY to secondaries. */
    dns?: { settings: DnsSettings; publisher?: ZonePublisher };
    /** Where apps are served (their domain) and the router's port. */
    apps?: AppSettings;
    appRuntime?: AppRuntimeSettings;
    /** The currency, the prices over the defaults, and the region the catalog shows. */
    catalog?: Omit<CatalogSettings, 'zones'>;
  },
) {
  // One count of open requests for every service that keeps requests open.
  const longRequests = createLongRequests({ perCredential: limits.streamsPerCredential, perProcess: limits.streamsPerProcess });
  const commandSettings = {
    timeouts: { defaultSeconds: limits.commandTimeoutSeconds, maxSeconds: limits.commandTimeoutMaxSeconds },
    outputLimitChars: limits.commandOutputLimit,
  };
  const events = createEventService({ store, notifier, longRequests });
  const taskHandlers = createTaskHandlerRegistry();
  registerBuiltinTaskHandlers(taskHandlers);
  const audit = createAuditService({ store });
  const access = createAccessService({ store });
  const limiter = createRateLimiter({ store });
  // Every kind of token is verified through one cache, so every kind's revocation propagates alike.
  const credentialCache = new CredentialCache();
  const tokens = createTokenService({ store, audit, credentialCache });
  const quotas = createQuotaService({ store });
  const roleBindings = createRoleBindingService({ store, access, audit });
  const groups = createGroupService({ store });
  const tasks = createTaskService({ store, events, notifier, handlers: taskHandlers, longRequests, secrets });
  const credentials = createCredentialService({ store, tokens, audit, roleBindings, credentialCache });
  const users = createUserService({ store, audit, roleBindings, quotas, tokens });
  const auth = createAuthService({ store, tokens, audit, throttle: createLoginThrottle({ limiter, settings: identity }), settings: identity });
  const serviceConnections = createServiceConnectionService({ computeCode: computeServiceCode });
  const dnsServices = createDnsServices({ store, events, audit, quotas, notifier, ...dns });
  const computeServices = createComputeServices({ store, events, tasks, quotas, taskHandlers, secrets, host: compute.host, settings: compute.settings, addresses: dnsServices.serverRecords });
  const bearers = createBearerService({ store, tokens, audit, settings: identity, secrets });
  const capabilities = createCapabilities(secrets);
  const oauth = createOauthServices({ store, tokens, credentials, audit, auth, credentialCache });
  const appServices = createAppServices({ store, events, tasks, quotas, notifier, taskHandlers, secrets, settings: apps, runtime: appRuntime, host: compute.appHost, compute: compute.settings, longRequests, capabilities, images: { ensureReady: computeServices.ensureImageReady } });
  const imageTemplates = createImageTemplateService({ store, events, images: computeServices.images });
  const catalogService = createCatalogService({ ...catalog, zones: [compute.settings.hostId] });
  const tokenAcls = createTokenAclService({ store, audit, tokens, servers: computeServices.servers, credentialCache });
  const commands = createCommandService({ store, events, notifier, tasks, taskHandlers, host: compute.host, servers: computeServices.servers, acl: tokenAcls, settings: commandSettings, longRequests });
  const principals = createPrincipalResolver({ tokens, bearers, credentials, oauth });
  const websh = createWebshService({ store, host: compute.host, servers: computeServices.servers, acl: tokenAcls, longRequests, principals });
  return {
    identity,
    notifier,
    events,
    taskHandlers,
    tasks,
    compute: computeServices,
    dns: dnsServices,
    longRequests,
    websh,
    commands,
    outputChannels: createOutputChannels({ store, notifier, longRequests, principals, commands, servers: computeServices.servers, websh }),
    transfers: createTransferService({ store, host: compute.host, servers: computeServices.servers, commands, acl: tokenAcls, limit: limits.transferLimit }),
    apps: appServices,
    projects: createProjectService({ store, events, apps: appServices.apps }),
    catalog: catalogService,
    imageTemplates,
    orders: createOrderService({ store, events, tasks, catalog: catalogService, images: computeServices.images, templates: imageTemplates, apps: appServices.apps, deployments: appServices.deployments }),
    idempotency: createIdempotencyService({ store }),
    audit,
    access,
    limiter,
    tokens,
    tokenAcls,
    registrationTokens: createRegistrationTokenService({ store }),
    notes: createNoteService({ store, servers: computeServices.servers }),
    quotas,
    roleBindings,
    groups,
    memberships: createMembershipService({ store, groups }),
    users,
    registration: createRegistration({ users, credentials }),
    auth,
    accountTokens: createAccountTokenService({ store, tokens, auth, audit }),
    bearers,
    credentials,
    principals,
    apiKeys: createApiKeyService({ store, tokens, audit }),
    serviceConnections,
    environments: createEnvironmentService({ store, events, connections: serviceConnections }),
    organizations: createOrganizationService({ store, events, access, quotas }),
    oauth,
  };
}

/** Settings of a process without compute: its host refuses everything, so these are never used for real. */
const UNCONFIGURED_COMPUTE: ComputeSettings = {
  hostId: 'unconfigured',
  networkRange: parseRange(COMPUTE_DEFAULTS.networkRange),
  stopTimeoutMs: COMPUTE_DEFAULTS.stopTimeoutSeconds * 1000,
  uploadDir: '',
  destroyedRetentionMs: COMPUTE_DEFAULTS.destroyedRetentionSeconds * 1000,
};

export type CoreServices = ReturnType<typeof createCoreServices>;
