/**
 * The JSON types Alpacon's CLI (alpacax/alpacon-cli v1.11.1, `api/<area>/types.go`) decodes Nimbus's
 * responses into, written from its Go structs. Go's encoding/json fails a whole command on a
 * field of the wrong type (a string where it wants an object, a number where it wants a string),
 * so each field the CLI reads is described with its Go type:
 *
 * - `string`, `int`, `float`, `bool`; `time` is a `time.Time` (an RFC 3339 string);
 * - `nullable(t)` where the CLI has a pointer (`*string`, `*bool`, `*UserSummary`), and for the two
 *   kinds of non-pointer field where Go documents null as the zero value and the CLI reads the
 *   zero value as "none": a list's `next`/`previous` (0 ends the walk) and a `time.Time` (shown
 *   as "None");
 * - `optional(t)`: a field Nimbus has no value for and leaves out (the CLI then reads Go's zero
 *   value), checked whenever it is present;
 * - `{...}` an object, `[t]` an array of t.
 */
export type GoType = 'string' | 'int' | 'float' | 'bool' | 'time' | 'any' | Nullable | Optional | GoObject | [GoType];
interface Nullable { nullable: GoType }
interface Optional { optional: GoType }
export interface GoObject { [field: string]: GoType }

export const nullable = (type: GoType): Nullable => ({ nullable: type });
export const optional = (type: GoType): Optional => ({ optional: type });

/** The mismatches between a decoded JSON value and a Go type, as `path: what` lines (none: it decodes). */
export function mismatches(value: unknown, type: GoType, path = '$'): string[] {
  if (Array.isArray(type)) {
    if (!Array.isArray(value)) return [`${path}: expected an array, got ${describe(value)}`];
    return value.flatMap((item, i) => mismatches(item, type[0], `${path}[${i}]`));
  }
  if (typeof type === 'object' && 'nullable' in type) return value === null ? [] : mismatches(value, type.nullable, path);
  if (typeof type === 'object' && 'optional' in type) return value === undefined ? [] : mismatches(value, type.optional, path);
  if (typeof type === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object, got ${describe(value)}`];
    const record = value as Record<string, unknown>;
    return Object.entries(type).flatMap(([field, fieldType]) => {
      const isOptional = typeof fieldType === 'object' && !Array.isArray(fieldType) && 'optional' in fieldType;
      if (!(field in record) && !isOptional) return [`${path}.${field}: missing`];
      return mismatches(record[field], fieldType, `${path}.${field}`);
    });
  }
  const fits: Record<typeof type, (v: unknown) => boolean> = {
    string: (v) => typeof v === 'string',
    int: (v) => Number.isInteger(v),
    float: (v) => typeof v === 'number',
    bool: (v) => typeof v === 'boolean',
    time: (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v),
    any: () => true,
  };
  return fits[type](value) ? [] : [`${path}: expected ${type}, got ${describe(value)}`];
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `${typeof value} ${JSON.stringify(value)?.slice(0, 60)}`;
}

// api/types/types.go
export const UserSummary: GoObject = { id: 'string', name: 'string', email: 'string' };
export const ServerSummary: GoObject = { id: 'string', name: 'string', os: nullable('string'), is_connected: 'bool' };

// api/types.go
export const ListResponse = (item: GoType): GoObject => ({ count: 'int', current: 'int', next: nullable('int'), previous: nullable('int'), last: 'int', results: [item] });
export const CursorListResponse = (item: GoType): GoObject => ({ next: nullable('string'), results: [item] });

// api/auth/types.go
export const LoginResponse: GoObject = { token: 'string', expires_at: 'string' };
export const WhoamiResponse: GoObject = { principal_type: 'string', auth: { scopes: ['string'] }, application: optional(nullable({ name: 'string', service_type: 'string', username: 'string' })) };
export const APITokenResponse: GoObject = { id: 'string', name: 'string', enabled: 'bool', key: 'string', updated_at: optional('time'), expires_at: nullable('time'), scopes: ['string'] };
export const TokenScopesResponse: GoObject = { resources: [{ name: 'string', actions: ['string'], acl: ['string'] }], wildcards: ['string'] };

// api/server/types.go
export const ServerDetails: GoObject = {
  id: 'string',
  name: 'string',
  remote_ip: 'string',
  status: { code: 'string', icon: 'string', meta: { delay_1d: 'float', delay_1h: 'float', delay_1w: 'float', delay_now: 'float' }, text: 'string', color: 'string', messages: ['string'] },
  is_connected: 'bool',
  commissioned: 'bool',
  starred: optional('bool'),
  cpu_physical_cores: 'int',
  cpu_logical_cores: 'int',
  cpu_type: 'string',
  physical_memory: 'int',
  os_name: 'string',
  os_version: 'string',
  load: optional('float'),
  boot_time: optional('time'),
  owner: UserSummary,
  groups: ['string'],
};

// api/event/types.go, api/event/chunks.go
export const CommandResponse: GoObject = {
  id: 'string',
  shell: 'string',
  line: 'string',
  data: optional('string'),
  username: 'string',
  groupname: 'string',
  added_at: 'time',
  scheduled_at: optional('time'),
  server: ServerSummary,
  requested_by: UserSummary,
  run_after: ['any'],
};
export const EventDetails: GoObject = {
  id: 'string',
  shell: 'string',
  line: 'string',
  success: nullable('bool'),
  exit_code: nullable('int'),
  error_phase: optional(nullable('string')),
  result: 'string',
  status: 'string',
  cancellable: optional('bool'),
  response_delay: optional('float'),
  elapsed_time: 'float',
  added_at: 'time',
  server: ServerSummary,
  requested_by: UserSummary,
};
export const Chunk: GoObject = { seq: 'int', content: 'string' };

// api/iam/types.go
export const UserResponse: GoObject = {
  id: 'string',
  username: 'string',
  first_name: 'string',
  last_name: 'string',
  email: 'string',
  phone: optional('string'),
  tags: optional('string'),
  num_groups: optional('int'),
  uid: optional('int'),
  is_active: 'bool',
  is_staff: 'bool',
  is_superuser: 'bool',
  is_ldap_user: optional('bool'),
  date_joined: optional('time'),
};
export const CurrentUserResponse: GoObject = { id: 'string', username: 'string', email: 'string', phone: optional('string'), uid: optional('int'), shell: optional('string'), home_directory: optional('string'), is_staff: 'bool', is_superuser: 'bool' };
export const MemberDetailResponse: GoObject = { id: 'string', group: 'string', group_name: 'string', user: UserSummary, role: 'string' };

// api/audit/types.go
export const AuditLogEntry: GoObject = {
  id: 'string',
  user: nullable(UserSummary),
  username: 'string',
  ip: 'string',
  app: 'string',
  action: 'string',
  status_code: optional('int'),
  added_at: 'time',
  model: 'string',
  description: 'string',
};

// api/websh/types.go
const WebshSessionFields: GoObject = {
  id: 'string',
  rows: 'int',
  cols: 'int',
  server: ServerSummary,
  user: UserSummary,
  username: 'string',
  groupname: 'string',
  user_agent: 'string',
  remote_ip: 'string',
};
export const WebshSessionResponse: GoObject = { ...WebshSessionFields, websocket_url: 'string' };
export const WebshSessionDetail: GoObject = {
  ...WebshSessionFields,
  is_tunnel: 'bool',
  client_type: 'string',
  added_at: 'string',
  updated_at: 'string',
  closed_at: nullable('string'),
  success: 'bool',
};
export const WebshShareResponse: GoObject = { shared_url: 'string', password: 'string', read_only: 'bool', expiration: 'time' };

// api/security/types.go
export const CommandAclResponse: GoObject = { id: 'string', token_name: 'string', command: 'string', username: 'string', groupname: 'string' };
export const ServerAclResponse: GoObject = { id: 'string', token: 'string', token_name: 'string', server: { id: 'string', name: 'string' } };
export const FileAclResponse: GoObject = { id: 'string', token_name: 'string', path: 'string', action: 'string', username: 'string', groupname: 'string' };

// api/server/types.go (registration tokens) and api/note/types.go
export const RegistrationTokenDetails: GoObject = { id: 'string', name: 'string', allowed_groups: ['string'], enabled: 'bool', expires_at: nullable('string'), added_at: 'string' };
export const RegistrationTokenCreatedResponse: GoObject = { id: 'string', name: 'string', allowed_groups: ['string'], key: 'string', expires_at: nullable('string'), added_at: 'string' };
export const NoteResponse: GoObject = { id: 'string', server: ServerSummary, author: UserSummary, content: 'string', private: 'bool', pinned: 'bool', added_at: 'time' };
