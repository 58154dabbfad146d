import { surfaceFieldName, type FieldNames } from '../../http/field-names.ts';

/**
 * Core's field names (in validation errors) as CloudMC calls them. A name not listed is the
 * same in both (`name`, `hostname`, `email`, `description`).
 */
const FIELDS: FieldNames = {
  slug: 'entryPoint',
  parentId: 'parent.id',
  username: 'userName',
  isActive: 'status',
  organizationId: 'organization.id',
  role: 'role.id',
  userId: 'user.id',
  serviceConnectionId: 'serviceConnection.id',
  image_id: 'templateId',
  plan_id: 'computeOfferingId',
  vcpus: 'cpuCount',
  memory_bytes: 'memoryInMB',
  root_volume_bytes: 'rootVolumeSizeInGb',
  size_bytes: 'sizeInGb',
  volume_plan: 'diskOfferingId',
  server_id: 'instanceId',
  volume: 'volumeId',
  environment_id: 'environment',
};

export function cloudmcField(field: string): string {
  return surfaceFieldName(FIELDS, field);
}
