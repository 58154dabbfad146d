// The baselines: bare Fastify routes answering a page of 20 organization-shaped objects
// (`/bare/`) and a status-shaped object (`/bare/status/`), with no database, no auth and none
// of Nimbus's conventions. Started as its own process so
// that it has a core and a heap of its own, like the Nimbus server it is compared with.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const now = new Date().toISOString();
const root = randomUUID();
const results = Array.from({ length: 20 }, (_, i) => {
  const id = randomUUID();
  return { id, name: `Organization ${i}`, slug: `organization-${i}`, parent: root, url: `http://127.0.0.1:${port}/api/iam/organizations/${id}/`, created_at: now, updated_at: now };
});
const page = { count: 41, current: 1, next: 2, previous: null, last: 3, results };

const app = Fastify();
app.get('/bare/', async () => page);
app.get('/bare/status/', async () => ({ status: 'ok', version: '0.1.0', api_version: 1, server_time: new Date().toISOString(), user: { id: root, username: 'admin' }, organization: { id: root } }));
await app.listen({ host: '127.0.0.1', port });
process.stdout.write('listening\n');
