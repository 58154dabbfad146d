
/**
 * ComputeStacks' OAuth scopes and the `resource:action` permissions each one stands for. An
 * OAuth token is worth the union of its scopes' permissions, cut down to what its user may do.
 */
export const OAUTH_SCOPES = {
  public: { permissions: ['public:read'], description: 'See public information (locations, packages, public images).' },
  images_read: { permissions: ['image:read'], description: 'See your container images.' },
  images_write: { permissions: ['image:read', 'image:write'], description: 'See, create, change and delete your container images.' },
  dns_read: { permissions: ['dns_zone:read', 'dns_record:read'], description: 'See your DNS zones and records.' },
  dns_write: {
    permissions: ['dns_zone:read', 'dns_zone:write', 'dns_record:read', 'dns_record:write'],
    description: 'See, create, change and delete your DNS zones and records.',
  },
  order_read: { permissions: ['order:read'], description: 'See your orders.' },
  order_write: { permissions: ['order:read', 'order:write'], description: 'Place and cancel orders (this can create billable resources).' },
  profile_read: { permissions: ['profile:read', 'token:read'], description: 'See your profile (name, email) and the list of your API tokens.' },
  profile_write: { permissions: ['profile:read', 'profile:write'], description: 'Change your profile (name, email, password).' },
  // ComputeStacks' `register` creates users (POST /api/users) and hands them API credentials; it
  // also keeps enrolling machines (`server:register`), which is what core's `register` means.
  register: { permissions: ['server:register', 'user:write', 'role:write', 'credential:write'], description: 'Register new machines and new users (with their API credentials) with your account.' },
  project_read: {
    permissions: ['project:read', 'app:read', 'server:read', 'volume:read', 'task:read', 'event:read'],
    description: 'See your projects, apps, servers, volumes, their tasks and events.',
  },
  project_write: {
    permissions: ['project:read', 'project:write', 'app:read', 'app:write', 'server:read', 'server:write', 'volume:read', 'volume:write', 'task:read', 'task:write', 'event:read'],
    description: 'Create, change, start, stop and delete your projects, apps, servers and volumes.',
  },
} as const satisfies Record<string, { permissions: readonly string[]; description: string }>;

export type OauthScope = keyof typeof OAUTH_SCOPES;

export const SCOPE_NAMES = Object.keys(OAUTH_SCOPES) as OauthScope[];

/** The only scope a client acting for itself (client_credentials) may hold. */
export const CLIENT_CREDENTIALS_SCOPES: readonly OauthScope[] = ['public'];

export function isOauthScope(value: string): value is OauthScope {
  return Object.hasOwn(OAUTH_SCOPES, value);
}

/** `"a b c"` -> unique scope names in the canonical order; unknown names are returned apart. */
export function parseScopeString(value: string): { scopes: OauthScope[]; unknown: string[] } {
  const names = new Set(value.split(' ').filter(Boolean));
  return { scopes: SCOPE_NAMES.filter((s) => names.has(s)), unknown: [...names].filter((n) => !isOauthScope(n)) };
}

/**
 * The `resource:action` permissions an OAuth token's scopes stand for. They act as the token's
 * scopes: each request intersects them with its user's roles where it acts (the access
 * service), so a token never exceeds its user's own rights.
 */
export function oauthPermissions(scopes: readonly string[]): string[] {
  return [...new Set(scopes.filter(isOauthScope).flatMap((s) => OAUTH_SCOPES[s].permissions))];
}
