import type { AppRow } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import type { NewEvent } from '../events/event-service.ts';

/** Where apps are reached: `<name>.<domain>`, through the router on `routerPort`. */
export interface AppSettings {
  domain: string;
  /** 0 when this process runs no router. */
  routerPort: number;
}

/** The public address of an app, as the router serves it. */
export function webUrl(settings: AppSettings, name: string): string {
  const port = settings.routerPort && settings.routerPort !== 80 ? `:${settings.routerPort}` : '';
  return `http://${name}.${settings.domain}${port}`;
}

/**
 * The event recording a change to an app, in the transaction that makes it. Types are
 * `app.<Scalingo's event type>` (`app.new_app`, `app.rename_app`, `app.deployment`...), so a
 * Scalingo surface shows them as they are.
 */
export function appEvent(app: Pick<AppRow, 'id' | 'name' | 'organization_id' | 'organization_path'>, type: string, actor: Actor | null, data: Record<string, unknown> = {}): NewEvent {
  return {
    type: `app.${type}`,
    organizationId: app.organization_id,
    organizationPath: app.organization_path,
    actor: actor?.principal.userId ?? null,
    resource: { type: 'app', id: app.id },
    data: { app_name: app.name, ...data },
    requestId: actor?.requestId ?? null,
  };
}
