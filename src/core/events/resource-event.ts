import type { Actor } from '../actor.ts';
import type { NewEvent } from './event-service.ts';

/** The event recording a change to an organization's resource, in the transaction that makes it. */
export function resourceEvent(
  row: { id: string; organization_id: string; organization_path: string },
  resourceType: string,
  verb: string,
  actor: Actor | null,
  data: Record<string, unknown> = {},
): NewEvent {
  return {
    type: `${resourceType}.${verb}`,
    organizationId: row.organization_id,
    organizationPath: row.organization_path,
    actor: actor?.principal.userId ?? null,
    resource: { type: resourceType, id: row.id },
    data,
    requestId: actor?.requestId ?? null,
  };
}
