import fs from 'node:fs';
import path from 'node:path';
import type { AppHost } from '../../backends/app-host.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { Capabilities } from '../capabilities/capabilities.ts';
import { isUuid, newId } from '../clock.ts';
import { asDomainError } from '../compute/context.ts';
import { NotFound, ValidationFailed } from '../errors.ts';

/** How long a source's upload and download URLs work; its archive is removed after. */
export const SOURCE_TTL_MS = 60 * 60 * 1000;
const UPLOAD = 'app-source-upload';
const DOWNLOAD = 'app-source-download';

export type SourceService = ReturnType<typeof createSourceService>;

/**
 * Sources: a place to upload an app's archive before deploying it (Scalingo's `POST /v1/sources`,
 * which `scalingo deploy <archive>` uses). Making one gives two capabilities, one to upload
 * (PUT) the archive and one to read it back; a deployment names the source by the second. Each
 * is bound to the source and the organization that made it, and works for an hour.
 */
export function createSourceService(deps: { host: AppHost; capabilities: Capabilities; settings: { uploadDir: string } }) {
  const { host, capabilities } = deps;
  const directory = () => path.join(deps.settings.uploadDir, 'sources');
  const fileOf = (id: string) => path.join(directory(), `${id}.tar`);

  /** Archives whose URLs have expired are of no use to anyone. */
  function removeExpired(): void {
    const dir = directory();
    const oldest = Date.now() - SOURCE_TTL_MS;
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const file = path.join(dir, name);
      if ((fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < oldest) fs.rmSync(file, { force: true });
    }
  }

  function grantOf(purpose: string, id: string, token: string): { id: string; org: string } {
    const grant = capabilities.read(purpose, token);
    if (!grant || grant.id !== id || !isUuid(id)) throw new NotFound('source');
    return { id, org: grant.org! };
  }

  return {
    async create(actor: Actor): Promise<{ id: string; uploadToken: string; downloadToken: string; expiresAt: Date }> {
      assertAllowed(actor, 'app:write');
      await host.ensureAvailable().catch((error: unknown) => {
        throw asDomainError(error);
      });
      fs.mkdirSync(directory(), { recursive: true, mode: 0o700 });
      removeExpired();
      const grant = { id: newId(), org: actor.organizationId };
      const upload = capabilities.issue(UPLOAD, grant, SOURCE_TTL_MS);
      return { id: grant.id, uploadToken: upload.token, downloadToken: capabilities.issue(DOWNLOAD, grant, SOURCE_TTL_MS).token, expiresAt: upload.expiresAt };
    },

    /** Stores the archive `receive` writes (under its cap) as the source's, replacing an earlier upload only once it is whole. */
    async upload(id: string, token: string, receive: (file: string) => Promise<void>): Promise<void> {
      grantOf(UPLOAD, id, token);
      const partial = `${fileOf(id)}.${newId()}.part`;
      try {
        await receive(partial);
        fs.renameSync(partial, fileOf(id));
      } finally {
        fs.rmSync(partial, { force: true });
      }
    },

    /** The uploaded archive's file, for its download URL. */
    downloadable(id: string, token: string): string {
      grantOf(DOWNLOAD, id, token);
      if (!fs.existsSync(fileOf(id))) throw new NotFound('source');
      return fileOf(id);
    },

    /**
     * Copies a source's archive to `file` for a deployment: the download capability must be valid
     * and made by the organization the deployment is made in. `field` names it in errors.
     */
    copyTo(actor: Actor, source: { id: string; token: string }, file: string, field: string): void {
      const grant = capabilities.read(DOWNLOAD, source.token);
      if (!grant || grant.id !== source.id || grant.org !== actor.organizationId) throw ValidationFailed.field(field, 'is not a source made in this organization, or it has expired');
      if (!fs.existsSync(fileOf(source.id))) throw ValidationFailed.field(field, 'nothing has been uploaded to this source');
      fs.copyFileSync(fileOf(source.id), file);
    },
  };
}
