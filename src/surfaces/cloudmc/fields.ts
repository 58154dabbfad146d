/**
 * Core's field names (in validation errors) as CloudMC calls them. A name not listed is the
 * same in both (`name`, `hostname`, `email`, `description`).
 */
const FIELDS: Record<string, string> = {
  slug: 'entryPoint',
  parent: 'parent.id',
  organization: 'organization.id',
  username: 'userName',
  first_name: 'firstName',
  last_name: 'lastName',
  is_active: 'status',
  role: 'role.id',
  user: 'user.id',
  service_connection: 'serviceConnection.id',
  image: 'templateId',
  plan: 'computeOfferingId',
  vcpus: 'cpuCount',
  memory: 'memoryInMB',
  root_volume_size: 'rootVolumeSizeInGb',
  size: 'sizeInGb',
  volume_plan: 'diskOfferingId',
  server: 'instanceId',
  volume: 'volumeId',
  environment: 'environment',
};

export function cloudmcField(field: string): string {
  return Object.hasOwn(FIELDS, field) ? FIELDS[field]! : field;
}
