import type { Selectable } from 'kysely';

/** An order: a project with its container services. Its status is derived from their deployments. */
export interface OrdersTable {
  id: string;
  organization_id: string;
  organization_path: string;
  project_id: string;
  project_name: string;
  location_id: string;
  requested_by: string | null;
  cancelled_at: string | null;
  created_at: string;
  updated_at: string;
}

/** One container service of an order: the app it made and the deployment that provisions it. */
export interface OrderContainersTable {
  order_id: string;
  /** 0, 1, 2... in the order's list. */
  position: number;
  image_id: string;
  package_id: string;
  command: string;
  /** JSON array of `{key, value}`. */
  params: string;
  app_id: string;
  app_name: string;
  deployment_id: string;
}

export interface OrderTables {
  orders: OrdersTable;
  order_containers: OrderContainersTable;
}

export type OrderRow = Selectable<OrdersTable>;
export type OrderContainerRow = Selectable<OrderContainersTable>;
