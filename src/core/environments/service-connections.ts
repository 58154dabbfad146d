import { assertAllowed, type Actor } from '../actor.ts';
import { NotFound, ValidationFailed } from '../errors.ts';

/**
 * Service connections: the services environments make resources in. Nimbus has one, its own
 * compute (servers, volumes, images). A connection's code names it in URLs (CloudMC's
 * `/services/<code>/<environment>/...`) and is configurable; its id never changes.
 */
export interface ServiceConnection {
  id: string;
  code: string;
  name: string;
  /** What kind of service it is: `compute`. */
  type: string;
}

export const COMPUTE_CONNECTION_ID = '00000000-0000-4000-8000-00000000c0de';
export const DEFAULT_COMPUTE_SERVICE_CODE = 'compute';
const CODE_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$/;

/** Whether `code` may name a connection: lowercase letters, digits and inner hyphens, at most 50. */
export function isServiceCode(code: string): boolean {
  return CODE_PATTERN.test(code);
}

export type ServiceConnectionService = ReturnType<typeof createServiceConnectionService>;

export function createServiceConnectionService({ computeCode = DEFAULT_COMPUTE_SERVICE_CODE }: { computeCode?: string } = {}) {
  if (!isServiceCode(computeCode)) throw new Error(`"${computeCode}" cannot be a service code: use lowercase letters, digits and hyphens`);
  const connections: readonly ServiceConnection[] = [{ id: COMPUTE_CONNECTION_ID, code: computeCode, name: 'Nimbus compute', type: 'compute' }];

  function list(actor: Actor): ServiceConnection[] {
    assertAllowed(actor, 'environment:read');
    return [...connections];
  }

  function get(actor: Actor, id: string): ServiceConnection {
    assertAllowed(actor, 'environment:read');
    const found = connections.find((c) => c.id === id);
    if (!found) throw new NotFound('service_connection', 'No service connection matches the given query.');
    return found;
  }

  /** The connection an environment names, or a field error on `field`. */
  function resolve(id: string | undefined, field: string): ServiceConnection {
    if (id === undefined) throw ValidationFailed.field(field, 'This field is required.');
    const found = connections.find((c) => c.id === id);
    if (!found) throw ValidationFailed.field(field, `Invalid pk "${id}" - object does not exist.`);
    return found;
  }

  /** The connection a service code names; a code nobody configured is a 404. */
  function byCode(code: string): ServiceConnection {
    const found = connections.find((c) => c.code === code);
    if (!found) throw new NotFound('service_connection', `No service connection has the code "${code}".`);
    return found;
  }

  return { list, get, resolve, byCode, byId: (id: string) => connections.find((c) => c.id === id) };
}
