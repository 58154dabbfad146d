import { Type } from 'typebox';
import { ORDER_STATUSES } from '../../../core/orders/order-status.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/orders/orders/: what clients send and receive, in the native API's names. */

const Param = Type.Object({ key: Type.String({ maxLength: 200 }), value: Type.String({ maxLength: 10_000 }) });

export const OrderContainerBody = Type.Object({
  position: Type.Integer({ description: 'Its place in the order, from 0.' }),
  image: Uuid,
  package: Uuid,
  command: Type.String(),
  params: Type.Array(Param),
  app: Type.Object({ id: Uuid, name: Type.String() }, { description: 'The container service: an app running the image (GET /api/apps/apps/<id>/).' }),
  deployment: Type.Object({ id: Uuid, status: Nullable(Type.String()) }, { description: "The deployment provisioning it; null status once the app is gone." }),
});

export const OrderBody = Type.Object({
  id: Uuid,
  status: Type.String({ description: ORDER_STATUSES.join(', ') }),
  failures: Type.Array(Type.Object({ container: Type.Integer(), app: Type.String(), reason: Type.String() }), { description: 'Why a failed order failed: which container, and why.' }),
  project: Type.Object({ id: Uuid, name: Type.String() }),
  location: Uuid,
  containers: Type.Array(OrderContainerBody),
  url: Type.String({ description: 'Absolute URL of this order.' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const OrdersPost = Type.Object({
  project_name: Type.String({ maxLength: 200, description: 'The project the order makes.' }),
  location_id: Type.String({ maxLength: 200, description: 'GET /api/catalog/locations/.' }),
  containers: Type.Array(
    Type.Object({
      image_id: Type.String({ maxLength: 200, description: 'An image of yours or the built-in one (GET /api/images/images/): the root filesystem the container runs on.' }),
      package_id: Type.String({ maxLength: 200, description: 'A container package (GET /api/catalog/packages/?kind=container): its size.' }),
      command: Type.String({ maxLength: 10_000, description: 'The shell line its web process runs; it must listen on $PORT.' }),
      params: Type.Optional(Type.Array(Param, { maxItems: 1000, description: "The app's variables." })),
      name: Type.Optional(Type.String({ maxLength: 200, description: "The app's name (6 to 48 lowercase letters, digits and hyphens); generated when omitted." })),
    }),
    { maxItems: 100 },
  ),
});
