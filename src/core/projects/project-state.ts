import type { ProjectMemberType } from '../../store/schema.ts';

/** What a project's state is read from: each member's own status or state. */
export interface MemberStatus {
  type: ProjectMemberType;
  status: string;
}

/**
 * A project's state, derived from its members (never stored, so it cannot drift):
 * `working` while any member is changing, `alert` when one has failed, `active` when an app
 * or a server runs, `stopped` when nothing runs, `empty` when it holds nothing.
 */
export type ProjectState = 'working' | 'alert' | 'active' | 'stopped' | 'empty';

const WORKING: Record<ProjectMemberType, readonly string[]> = {
  app: ['building', 'restarting', 'scaling', 'booting', 'deleting'],
  server: ['starting', 'stopping'],
  volume: ['creating', 'resizing', 'deleting'],
  image: ['pending'],
};
const FAILED: Record<ProjectMemberType, readonly string[]> = { app: ['crashed'], server: ['error'], volume: ['error'], image: ['error'] };
const RUNNING: Record<ProjectMemberType, readonly string[]> = { app: ['running'], server: ['running'], volume: [], image: [] };

export function projectState(members: readonly MemberStatus[]): ProjectState {
  if (!members.length) return 'empty';
  const any = (table: Record<ProjectMemberType, readonly string[]>) => members.some((m) => table[m.type].includes(m.status));
  if (any(WORKING)) return 'working';
  if (any(FAILED)) return 'alert';
  if (any(RUNNING)) return 'active';
  return 'stopped';
}
