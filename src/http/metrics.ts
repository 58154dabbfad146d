import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';

export type HttpMetrics = ReturnType<typeof createHttpMetrics>;

/**
 * Prometheus metrics: requests by route and status, their latency, and the process figures
 * (memory, CPU, event-loop lag, handles), one registry for every listener of the process. The
 * route label is the route's pattern, never the raw URL, so cardinality stays bounded.
 */
export function createHttpMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nimbus_' });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({ name: 'nimbus_http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'nimbus_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Each label set's series, found by one string rather than prom-client hashing the labels on every request.
  const series = new Map<string, { requests: Counter.Internal; duration: Histogram.Internal<(typeof labelNames)[number]> }>();
  const seriesOf = (method: string, route: string, statusCode: number) => {
    const key = `${method} ${statusCode} ${route}`;
    let found = series.get(key);
    if (!found) {
      const labels = { method, route, status_code: String(statusCode) };
      series.set(key, (found = { requests: requests.labels(labels), duration: duration.labels(labels) }));
    }
    return found;
  };
  return {
    /** Counts every request the listener answers. */
    observe(app: FastifyInstance): void {
      app.addHook('onResponse', (request, reply, done) => {
        const found = seriesOf(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode);
        found.requests.inc();
        found.duration.observe(reply.elapsedTime / 1000);
        done();
      });
    },
    /** `GET /metrics` on this listener. */
    serve(app: FastifyInstance): void {
      app.get('/metrics', async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      });
    },
  };
}
