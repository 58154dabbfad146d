import path from 'node:path';

/**
 * Where everything lives under the compute root. Every host resource Nimbus makes is either
 * a path under here or recorded here, which is how `sweep` tells ours from another root's.
 */
export class HostLayout {
  readonly runcState: string;
  readonly images: string;
  readonly volumes: string;
  readonly snapshots: string;
  readonly servers: string;
  readonly mounts: string;
  readonly networks: string;
  /** Half-built things (images, volume files) before they are renamed into place. */
  readonly staging: string;
  /** Spares made ahead of server creations: formatted volumes by size, image copies by image. */
  readonly spares: string;

  constructor(readonly root: string) {
    this.runcState = path.join(root, 'runc');
    this.images = path.join(root, 'images');
    this.volumes = path.join(root, 'volumes');
    this.snapshots = path.join(root, 'snapshots');
    this.servers = path.join(root, 'servers');
    this.mounts = path.join(root, 'mounts');
    this.networks = path.join(root, 'networks');
    this.staging = path.join(root, 'staging');
    this.spares = path.join(root, 'spares');
  }

  imageDir(imageId: string): string {
    return path.join(this.images, imageId);
  }

  imageRootfs(imageId: string): string {
    return path.join(this.images, imageId, 'rootfs');
  }

  volumeFile(volumeId: string): string {
    return path.join(this.volumes, `${volumeId}.img`);
  }

  snapshotFile(snapshotId: string): string {
    return path.join(this.snapshots, `${snapshotId}.img`);
  }

  /** The host mount point of a volume while its server runs. */
  volumeMount(volumeId: string): string {
    return path.join(this.mounts, volumeId);
  }

  serverDir(serverId: string): string {
    return path.join(this.servers, serverId);
  }

  serverFile(serverId: string, name: 'config.json' | 'spec.json' | 'console.log' | 'rootfs' | 'init.pid' | 'runc.pid' | 'image' | 'image.json'): string {
    return path.join(this.servers, serverId, name);
  }

  /** Where the spares of one kind live (`spares/<kind>/<key>/`). */
  sparesOf(kind: 'volumes' | 'images'): string {
    return path.join(this.spares, kind);
  }

  networkRecord(networkId: string): string {
    return path.join(this.networks, `${networkId}.json`);
  }

  /** True when `candidate` is this root or inside it. */
  owns(candidate: string): boolean {
    const relative = path.relative(this.root, candidate);
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  }
}
