import type { FieldNames } from '../../http/field-names.ts';

/**
 * The native API's names for core's fields, one map for every route: the native error renderer
 * names core's validation errors with it, so a route only builds core's input from its body.
 */
export const NATIVE_FIELD_NAMES: FieldNames = {
  // servers and volumes
  image_id: 'image',
  memory_bytes: 'memory',
  root_volume_bytes: 'root_volume_size',
  plan_id: 'plan',
  environment_id: 'environment',
  size_bytes: 'size',
  snapshot_id: 'snapshot',
  server_id: 'server',
  // image templates
  min_memory_bytes: 'min_memory',
  // apps
  organization_id: 'organization',
  // users, organizations, groups, role bindings, environments, credentials
  firstName: 'first_name',
  lastName: 'last_name',
  isActive: 'is_active',
  isStaff: 'is_staff',
  isSuperuser: 'is_superuser',
  organizationId: 'organization',
  oldPassword: 'old_password',
  parentId: 'parent',
  groupId: 'group',
  userId: 'user',
  serviceConnectionId: 'service_connection',
  // tokens and OAuth applications
  expiresAt: 'expires_at',
  clientType: 'client_type',
  redirectUris: 'redirect_uris',
};
