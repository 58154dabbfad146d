import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';

export type Tree = Record<string, string | { link: string }>;

/** Writes files (text) and symlinks (`{ link }`) under `dir`. */
export function writeTree(dir: string, tree: Tree): void {
  for (const [name, content] of Object.entries(tree)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(file, content);
    else fs.symlinkSync(content.link, file);
  }
}

/** A minimal runnable root filesystem: busybox, a shell and a few applets (absolute and relative links). */
export function busyboxTree(dir: string): void {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  writeTree(dir, { 'bin/sh': { link: '/bin/busybox' }, 'bin/cat': { link: 'busybox' }, 'bin/ls': { link: '/bin/busybox' }, 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n' });
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface OciLayout {
  /** The layout directory. */
  dir: string;
  /** Each layer's blob file in the layout, in order. */
  layerBlobs: string[];
  /** The layout as a tar archive. */
  archive: string;
}

/** Archives an OCI image layout directory as the tar file `file`. */
export async function archiveLayout(dir: string, file: string): Promise<void> {
  await tar.c({ file, cwd: dir }, ['oci-layout', 'index.json', 'blobs']);
}

/**
 * An amd64 OCI image layout of two layers, made in `<work>/layout` and archived as
 * `<work>/image-oci.tar`: the directory `lower` (gzipped tar), then `upper` (plain tar).
 * `platform` names the platform in the index too.
 */
export async function ociLayout(work: string, lower: string, upper: string, options: { platform?: boolean } = {}): Promise<OciLayout> {
  const dir = path.join(work, 'layout');
  fs.mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  const blob = (data: Buffer | string) => {
    const digest = sha256(data);
    fs.writeFileSync(path.join(dir, 'blobs/sha256', digest), data);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
  };
  const layerTars: Buffer[] = [];
  for (const layer of [lower, upper]) {
    await tar.c({ file: `${layer}.tar`, cwd: layer }, ['.']);
    layerTars.push(fs.readFileSync(`${layer}.tar`));
  }
  const layers = [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(layerTars[0]!)) },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', ...blob(layerTars[1]!) },
  ];
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layerTars.map((t) => `sha256:${sha256(t)}`) } }));
  const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers }));
  const platform = options.platform ? { platform: { architecture: 'amd64', os: 'linux' } } : {};
  writeTree(dir, {
    'oci-layout': JSON.stringify({ imageLayoutVersion: '1.0.0' }),
    'index.json': JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, ...platform }] }),
  });
  const archive = path.join(work, 'image-oci.tar');
  await archiveLayout(dir, archive);
  return { dir, layerBlobs: layers.map((layer) => path.join(dir, 'blobs/sha256', layer.digest.slice('sha256:'.length))), archive };
}
