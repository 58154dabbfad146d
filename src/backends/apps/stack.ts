import { copyFile, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../command.ts';
import { exists, makeStagingDir } from '../files.ts';
import { writeBusyboxRootfs } from '../images/builtin.ts';
import { bind } from '../runc/bundle.ts';
import type { AppLayout } from './layout.ts';

/**
 * The Node.js stack: the host's own Node.js runtime (the one running Nimbus, so always there
 * and always the same version), mounted read-only into a minimal root filesystem made of
 * Debian's static busybox plus the few shared libraries `node` links against. Made once per
 * Node.js version, in seconds and without any download, then shared read-only by every build
 * and process. The `procfile` stack runs on the same root filesystem.
 */
const NODE_IN_CONTAINER = '/usr/local/bin/node';
const NPM_IN_CONTAINER = '/usr/local/lib/node_modules/npm';

export interface Stack {
  rootfs: string;
  /** Read-only binds of the runtime into every container of the stack. */
  mounts: object[];
}

function hostNpm(): string {
  return path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm');
}

/** The shared libraries `node` needs, as ldd lists them (their paths are the same inside). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const found = new Set<string>();
  for (const line of stdout.split('\n')) {
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match) found.add(match[1]!);
  }
  return [...found];
}

async function makeRootfs(rootfs: string): Promise<void> {
  await writeBusyboxRootfs(rootfs);
  for (const library of await sharedLibraries(process.execPath)) {
    const target = path.join(rootfs, library);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(library, target);
  }
  // Mount points of the runtime, and npm's commands.
  await mkdir(path.join(rootfs, NPM_IN_CONTAINER), { recursive: true });
  await mkdir(path.join(rootfs, path.dirname(NODE_IN_CONTAINER)), { recursive: true });
  await writeFile(path.join(rootfs, NODE_IN_CONTAINER), '');
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', path.join(rootfs, 'usr/local/bin/npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', path.join(rootfs, 'usr/local/bin/npx'));
  await mkdir(path.join(rootfs, 'app'), { recursive: true });
}

export class StackStore {
  private making: Promise<Stack> | undefined;

  constructor(private readonly layout: AppLayout) {}

  /** The stack, made on first use (once per Node.js version; concurrent callers share one making). */
  ensure(): Promise<Stack> {
    this.making ??= this.make().catch((error: unknown) => {
      this.making = undefined;
      throw error;
    });
    return this.making;
  }

  private async make(): Promise<Stack> {
    const npm = hostNpm();
    if (!(await exists(path.join(npm, 'bin/npm-cli.js')))) throw new Error(`npm was not found beside ${process.execPath} (at ${npm}): install npm with Node.js`);
    const dir = path.join(this.layout.stacks, `nodejs-${process.version}`);
    const rootfs = path.join(dir, 'rootfs');
    if (!(await exists(rootfs))) {
      await mkdir(this.layout.stacks, { recursive: true });
      const staging = await makeStagingDir(this.layout.staging, 'stack');
      try {
        await makeRootfs(path.join(staging, 'rootfs'));
        await rename(staging, dir).catch(async (error: unknown) => {
          if (!(await exists(rootfs))) throw error;
        });
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }
    return { rootfs, mounts: [bind(process.execPath, NODE_IN_CONTAINER, true), bind(npm, NPM_IN_CONTAINER, true)] };
  }
}
