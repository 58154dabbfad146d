import path from 'node:path';

/**
 * Where app things live, under `<compute root>/apps/`: apart from servers' bundles and runc
 * state, so the servers' sweep and this one never mistake each other's things.
 * - `runc/`: runc's state for app containers;
 * - `stacks/<name>/rootfs`: a stack's root filesystem, shared read-only by every container;
 * - `builds/<deploymentId>/app`: a source being built; `slugs/<releaseId>/`: a built, immutable slug;
 * - `processes/<id>/`: a running process's bundle (config.json, spec.json, console.log, its
 *   writable layer over the slug and the merged `/app`);
 * - `runs/<id>/`: a one-off run's bundle; `staging/`: stacks being made.
 */
export class AppLayout {
  readonly root: string;
  readonly runcState: string;
  readonly stacks: string;
  readonly builds: string;
  readonly slugs: string;
  readonly processes: string;
  readonly runs: string;
  readonly staging: string;

  constructor(computeRoot: string) {
    this.root = path.join(computeRoot, 'apps');
    this.runcState = path.join(this.root, 'runc');
    this.stacks = path.join(this.root, 'stacks');
    this.builds = path.join(this.root, 'builds');
    this.slugs = path.join(this.root, 'slugs');
    this.processes = path.join(this.root, 'processes');
    this.runs = path.join(this.root, 'runs');
    this.staging = path.join(this.root, 'staging');
  }

  buildDir(buildId: string): string {
    return path.join(this.builds, buildId);
  }

  slugDir(slugId: string): string {
    return path.join(this.slugs, slugId);
  }

  processFile(id: string, name: 'config.json' | 'spec.json' | 'console.log' | 'init.pid' | 'upper' | 'work' | 'app'): string {
    return path.join(this.processes, id, name);
  }
}
