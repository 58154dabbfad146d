/**
 * The one permission vocabulary: `resource:action`. Roles are sets of these, token scopes are
 * written in them, and `assertAllowed` checks them. Adding a resource is one line here.
 */
export const RESOURCES = [
  'organization',
  'user',
  /** One's own user: changing it (`/api/iam/users/-/`, its password) needs `profile:write` by scope, whatever the role. */
  'profile',
  'group',
  'membership',
  'role',
  'token',
  'credential',
  'audit',
  'quota',
  'task',
  'event',
  'server',
  'volume',
  'snapshot',
  'image',
  'command',
  'oauth_application',
  /** A user's own approvals of OAuth applications. */
  'oauth_authorization',
  'app',
  'project',
  /** A project inside an organization, bound to a service connection (CloudMC's environments). */
  'environment',
  'order',
  'dns_zone',
  'dns_record',
  /** What every client may see (locations, packages, public images): ComputeStacks' `public` scope. */
  'public',
] as const;

export type Resource = (typeof RESOURCES)[number];

export const ACTIONS = ['read', 'write'] as const;

/** Actions only some resources have, because a surface needs them. */
export const SPECIFIC_ACTIONS: Partial<Record<Resource, readonly string[]>> = {
  // Granting or taking away the owner role: owners only (an admin may not change owners).
  role: ['assign_owner'],
  // Enrolling a machine (ComputeStacks' `register` scope, an agent's registration token).
  server: ['register'],
};

export type Permission = `${string}:${string}`;

export function actionsOf(resource: Resource): string[] {
  return [...ACTIONS, ...(SPECIFIC_ACTIONS[resource] ?? [])];
}

/** Every permission that exists, in a stable order. */
export const ALL_PERMISSIONS: readonly Permission[] = RESOURCES.flatMap((r) => actionsOf(r).map((a) => `${r}:${a}` as Permission));

const KNOWN = new Set<string>(ALL_PERMISSIONS);
const RESOURCE_SET = new Set<string>(RESOURCES);
const ACTION_SET = new Set<string>(RESOURCES.flatMap((r) => actionsOf(r)));

/**
 * Alpacon's scope vocabulary, read as Nimbus's: its clients write scopes such as
 * `command:create` or `server:read`. Each Alpacon action means Nimbus actions (one that may
 * create, change or run a thing may also read it: `exec` with `command:create` reads back the
 * command it queued), and the resources Alpacon names otherwise mean the Nimbus resource that
 * guards the same thing (a web shell or a file transfer runs as a user of the server, as a
 * command does). Tokens keep their scopes as written; this is the one place they are translated.
 */
const WRITE_AND_READ = ['write', 'read'] as const;
export const ALPACON_ACTIONS: Readonly<Record<string, readonly (typeof ACTIONS)[number][]>> = {
  list: ['read'],
  retrieve: ['read'],
  create: WRITE_AND_READ,
  update: WRITE_AND_READ,
  delete: WRITE_AND_READ,
  execute: WRITE_AND_READ,
};
export const ALPACON_RESOURCES: Readonly<Record<string, Resource>> = { websh: 'command', webftp: 'command', member: 'membership', history: 'audit' };

/** The Nimbus forms of a scope: Alpacon's resource and action names translated, anything else as it is. */
export function nimbusScopes(scope: string): string[] {
  const [resource, action, ...rest] = scope.split(':');
  if (action === undefined || rest.length) return [scope];
  const named = ALPACON_RESOURCES[resource!] ?? resource;
  return (ALPACON_ACTIONS[action] ?? [action]).map((a) => `${named}:${a}`);
}

/** Every resource a scope may name (Alpacon's names too), with the actions it may name there. */
export function scopeResources(): { name: string; actions: string[] }[] {
  const named = [...RESOURCES.map((r) => [r, r] as const), ...Object.entries(ALPACON_RESOURCES)];
  return named.map(([name, resource]) => ({ name, actions: [...actionsOf(resource), ...Object.keys(ALPACON_ACTIONS)] }));
}

/** Scope wildcards: everything, everything on one resource, one action on every resource. */
export const SCOPE_WILDCARDS = ['*', ...ACTIONS.map((a) => `*:${a}`)];

/** Whether a scope is well-formed: `*`, `resource:action`, `resource:*` or `*:action`, in Nimbus's or Alpacon's names. */
export function isValidScope(scope: string): boolean {
  if (scope === '*') return true;
  return nimbusScopes(scope).every((translated) => {
    const [resource, action, extra] = translated.split(':');
    if (extra !== undefined || !resource || !action) return false;
    if (resource === '*') return action !== '*' && ACTION_SET.has(action);
    if (!RESOURCE_SET.has(resource)) return false;
    return action === '*' || KNOWN.has(translated);
  });
}

/** The permissions a list of scopes covers. */
export function expandScopes(written: readonly string[]): Set<Permission> {
  if (written.includes('*')) return new Set(ALL_PERMISSIONS);
  const scopes = written.flatMap(nimbusScopes);
  const granted = new Set<Permission>();
  for (const permission of ALL_PERMISSIONS) {
    const [resource, action] = permission.split(':');
    if (scopes.includes(permission) || scopes.includes(`${resource}:*`) || scopes.includes(`*:${action}`)) granted.add(permission);
  }
  return granted;
}

/**
 * The permissions of `wanted` that `scopes` do not cover: what a credential may not hand on to
 * anything it creates (a token, a credential pair, an OAuth grant).
 */
export function permissionsBeyond(scopes: readonly string[], wanted: Iterable<string>): string[] {
  const held = expandScopes(scopes);
  return [...wanted].filter((p) => !held.has(p as Permission));
}

export function intersect(a: ReadonlySet<Permission>, b: ReadonlySet<Permission>): Set<Permission> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  return new Set([...small].filter((p) => large.has(p)));
}
