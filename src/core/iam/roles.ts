import { ALL_PERMISSIONS, RESOURCES, type Permission, type Resource } from './permissions.ts';

export interface RoleDefinition {
  name: string;
  description: string;
  permissions: ReadonlySet<Permission>;
}

/** Resources a member may change: the things people build with, not the organization itself. */
const MEMBER_WRITABLE: readonly Resource[] = ['task', 'command', 'server', 'volume', 'snapshot', 'image', 'app', 'project', 'order', 'dns_zone', 'dns_record', 'oauth_authorization'];

const read = RESOURCES.map((r) => `${r}:read` as Permission);
const write = (resources: readonly Resource[]) => resources.map((r) => `${r}:write` as Permission);

/**
 * The built-in roles. A user's role in an organization applies to its sub-organizations too;
 * roles held on several ancestors add up.
 */
export const ROLES: Record<string, RoleDefinition> = {
  owner: { name: 'owner', description: 'Everything, including granting and removing owners.', permissions: new Set(ALL_PERMISSIONS) },
  admin: {
    name: 'admin',
    description: 'Everything except granting or removing the owner role.',
    permissions: new Set(ALL_PERMISSIONS.filter((p) => p !== 'role:assign_owner')),
  },
  member: {
    name: 'member',
    description: 'Reads everything; changes servers, volumes, images, apps, projects, orders, DNS, commands, tasks and their own OAuth approvals.',
    permissions: new Set([...read, ...write(MEMBER_WRITABLE)]),
  },
  viewer: { name: 'viewer', description: 'Reads everything, changes nothing.', permissions: new Set(read) },
};

export type RoleName = keyof typeof ROLES;
export const ROLE_NAMES = Object.keys(ROLES);

export function isRoleName(name: string): name is RoleName {
  return Object.hasOwn(ROLES, name);
}

/** The union of several roles' permissions. */
export function permissionsOfRoles(names: readonly string[]): Set<Permission> {
  const granted = new Set<Permission>();
  for (const name of names) for (const p of ROLES[name]?.permissions ?? []) granted.add(p);
  return granted;
}
