import type { AppTables } from './tables/apps.ts';
import type { CommandTables } from './tables/commands.ts';
import type { ComputeTables } from './tables/compute.ts';
import type { EnvironmentTables } from './tables/environments.ts';
import type { DnsTables } from './tables/dns.ts';
import type { EventChannelTables } from './tables/event-channels.ts';
import type { EventTables } from './tables/events.ts';
import type { FoundationTables } from './tables/foundation.ts';
import type { IdentityTables } from './tables/identity.ts';
import type { OauthTables } from './tables/oauth.ts';
import type { IdempotencyTables } from './tables/idempotency.ts';
import type { OrderTables } from './tables/orders.ts';
import type { ProjectTables } from './tables/projects.ts';
import type { TaskTables } from './tables/tasks.ts';
import type { TokenAclTables } from './tables/token-acls.ts';
import type { ServerExtraTables } from './tables/server-extras.ts';
import type { TransferTables } from './tables/transfers.ts';
import type { WebshTables } from './tables/websh.ts';

export type * from './tables/apps.ts';
export type * from './tables/commands.ts';
export type * from './tables/compute.ts';
export type * from './tables/environments.ts';
export type * from './tables/dns.ts';
export type * from './tables/event-channels.ts';
export type * from './tables/events.ts';
export type * from './tables/foundation.ts';
export type * from './tables/identity.ts';
export type * from './tables/oauth.ts';
export type * from './tables/idempotency.ts';
export type * from './tables/orders.ts';
export type * from './tables/projects.ts';
export type * from './tables/tasks.ts';
export type * from './tables/token-acls.ts';
export type * from './tables/server-extras.ts';
export type * from './tables/transfers.ts';
export type * from './tables/websh.ts';

/**
 * The whole database, one interface per domain in `tables/`. Column conventions, identical on
 * SQLite and PostgreSQL so that one query path serves both: ids are UUID text; timestamps are
 * ISO 8601 text with milliseconds and `Z` (they sort as text); flags are 0/1 integers;
 * structured values are JSON text.
 */
export interface Database extends FoundationTables, IdentityTables, OauthTables, TaskTables, EventTables, IdempotencyTables, ComputeTables, CommandTables, EnvironmentTables, DnsTables, AppTables, ProjectTables, OrderTables, WebshTables, TransferTables, EventChannelTables, TokenAclTables, ServerExtraTables {}
