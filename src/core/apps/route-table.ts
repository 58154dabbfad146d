import type { Route } from '../../backends/router/router.ts';
import type { Store } from '../../store/database.ts';
import type { AppSettings } from './context.ts';

/**
 * The routes of this host's router, read from the database: each app at `<name>.<domain>`,
 * to its web processes that are up. The router asks again every moment, so a rename, a
 * deployment or a crash is followed within that moment.
 */
export function createRouteTable(deps: { store: Store; settings: AppSettings; hostId: string }) {
  const { store, settings, hostId } = deps;
  return {
    async read(): Promise<Map<string, Route>> {
      const rows = await store.db
        .selectFrom('apps')
        .leftJoin('app_containers', (join) => join.onRef('app_containers.app_id', '=', 'apps.id').on('app_containers.process_type', '=', 'web').on('app_containers.state', '=', 'up').on('app_containers.host', '=', hostId))
        .select(['apps.id', 'apps.name', 'apps.force_https', 'app_containers.address', 'app_containers.port'])
        .where('apps.status', '!=', 'deleting')
        .orderBy('app_containers.address')
        .execute();
      const routes = new Map<string, Route>();
      for (const row of rows) {
        const host = `${row.name}.${settings.domain}`;
        let route = routes.get(host);
        if (!route) routes.set(host, (route = { appId: row.id, appName: row.name, forceHttps: row.force_https === 1, backends: [] }));
        if (row.address && row.port) route.backends.push(`${row.address}:${row.port}`);
      }
      return routes;
    },
  };
}

export type RouteTable = ReturnType<typeof createRouteTable>;
