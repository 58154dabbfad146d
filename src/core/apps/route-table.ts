import type { Route, RouteCertificate, RouteSet } from '../../backends/router/routes.ts';
import type { Store } from '../../store/database.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { AppSettings } from './context.ts';
import { domainKeyContext } from './domain-service.ts';

/**
 * The routes of this host's router, read from the database: each app at `<name>.<domain>` and
 * at its custom domains, to its web processes that are up, with the certificates of the domains
 * that have one. The router asks again every moment, so a rename, a deployment, a crash or a new
 * domain is followed within that moment.
 */
export function createRouteTable(deps: { store: Store; settings: AppSettings; hostId: string; secrets: SecretBox }) {
  const { store, settings, hostId, secrets } = deps;
  return {
    async read(): Promise<RouteSet> {
      const [rows, domains] = await Promise.all([
        store.db
          .selectFrom('apps')
          .leftJoin('app_containers', (join) => join.onRef('app_containers.app_id', '=', 'apps.id').on('app_containers.process_type', '=', 'web').on('app_containers.state', '=', 'up').on('app_containers.host', '=', hostId))
          .select(['apps.id', 'apps.name', 'apps.force_https', 'app_containers.address', 'app_containers.port'])
          .where('apps.status', '!=', 'deleting')
          .orderBy('app_containers.address')
          .execute(),
        store.db.selectFrom('app_domains').select(['id', 'app_id', 'name', 'tls_cert', 'tls_key_sealed', 'updated_at']).execute(),
      ]);
      const byApp = new Map<string, Route>();
      for (const row of rows) {
        let route = byApp.get(row.id);
        if (!route) byApp.set(row.id, (route = { appId: row.id, appName: row.name, forceHttps: row.force_https === 1, backends: [] }));
        if (row.address && row.port) route.backends.push(`${row.address}:${row.port}`);
      }
      const hosts = new Map<string, Route>([...byApp.values()].map((route) => [`${route.appName}.${settings.domain}`, route]));
      const certificates = new Map<string, RouteCertificate>();
      for (const domain of domains) {
        const route = byApp.get(domain.app_id);
        if (!route) continue;
        hosts.set(domain.name, route);
        const sealed = domain.tls_key_sealed;
        if (domain.tls_cert && sealed) {
          // The key is opened only when the router has no context for this version of the certificate.
          certificates.set(domain.name, { version: `${domain.id}@${domain.updated_at}`, cert: domain.tls_cert, key: () => secrets.open(sealed, domainKeyContext(domain.id)).toString() });
        }
      }
      return { hosts, certificates };
    },
  };
}

export type RouteTable = ReturnType<typeof createRouteTable>;
