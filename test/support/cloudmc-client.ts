/**
 * The CloudMC services JS client (cloudops/cloudmc-services-js-client, src/index.js,
 * PollingResolver.js and ApiKeyAuthenticator.js), ported line by line to TypeScript for the
 * tests: it is not published on the npm registry. Same requests (`MC-Api-Key`, JSON,
 * `/services/<code>/<environment>/<entity>[/<id>][?operation=<op>]`), same reading of answers
 * (`data`, `taskId`/`taskStatus`, then `GET /tasks/<id>` read as `data.{id,status,result}`
 * every `pollMs`), same failures ("Operation failed.").
 */

type Body = string | undefined;
type Fetcher = (url: string, options?: { method?: string; body?: Body }) => Promise<any>;

function wait(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}

class ApiKeyAuthenticator {
  readonly apiKey: string;
  constructor(target: { apiKey?: string }) {
    if (!target.apiKey) throw new Error('No API key provided in options!');
    this.apiKey = target.apiKey;
  }
  authenticate(headers: Headers): void {
    headers.set('MC-Api-Key', this.apiKey);
  }
}

class PollingResolver {
  constructor(private readonly target: { endpoint: string; pollMs: number }, private readonly fetcher: Fetcher) {}

  resolve(body: any): Promise<any> {
    return this.baseHandleTask(body.taskId, body.taskStatus, body.data);
  }

  handleTask(body: any): Promise<any> {
    return this.baseHandleTask(body.data.id, body.data.status, body.data.result);
  }

  baseHandleTask(id: string | undefined, status: string, result: any): Promise<any> {
    if (!id) return Promise.resolve(result);
    if (status === 'SUCCESS') return Promise.resolve(result || {});
    if (status === 'FAILED') return Promise.reject(new Error('Operation failed.'));
    if (status === 'PENDING') return wait(this.target.pollMs).then(() => this.pollTaskStatus(id));
    return Promise.reject(new Error(`Something went horribly wrong while trying to process API response "${JSON.stringify(result)}"`));
  }

  pollTaskStatus(taskId: string): Promise<any> {
    return this.fetcher(`${this.target.endpoint}/tasks/${taskId}`).then((data) => this.handleTask(data));
  }
}

function baseFetcher(authenticator: ApiKeyAuthenticator): Fetcher {
  return (url, options = {}) => {
    const headers = new Headers();
    authenticator.authenticate(headers);
    headers.set('Content-Type', 'application/json');
    return fetch(url, { ...options, headers }).then((res) => res.json());
  };
}

export interface EntityOperations {
  list(): Promise<any>;
  get(id: string): Promise<any>;
  create(body: Body): Promise<any>;
  update(id: string, body: Body): Promise<any>;
  delete(id: string, body?: Body): Promise<any>;
  /** Any other name is an operation: `POST <entity>/<id>?operation=<name>`. */
  [operation: string]: (id?: any, body?: Body) => Promise<any>;
}

export type Environment = Record<string, () => EntityOperations>;

/** `cmcFactory(endpoint, { apiKey })(serviceCode, environmentName).instances().list()`. */
export function cmcFactory(endpoint: string, options: { apiKey: string; pollMs?: number }): (serviceCode: string, environmentName: string) => Environment {
  const authenticator = new ApiKeyAuthenticator(options);
  const fetcher = baseFetcher(authenticator);
  const resolver = new PollingResolver({ endpoint, pollMs: options.pollMs ?? 1000 }, fetcher);
  return (serviceCode, environmentName) =>
    new Proxy({} as Environment, {
      get: (_target, entityType: string) => () => {
        const call = (method: string, { id, body, operation }: { id?: string; body?: Body; operation?: string } = {}) => {
          const idPart = id ? `/${id}` : '';
          const operationPart = operation ? `?operation=${operation}` : '';
          return fetcher(`${endpoint}/services/${serviceCode}/${environmentName}/${entityType}${idPart}${operationPart}`, { method, body }).then((data) => resolver.resolve(data));
        };
        const standard: Record<string, (...args: any[]) => Promise<any>> = {
          create: (body: Body) => call('POST', { body }),
          delete: (id: string, body?: Body) => call('DELETE', { id, body }),
          update: (id: string, body: Body) => call('PUT', { id, body }),
          list: () => call('GET'),
          get: (id: string) => call('GET', { id }),
        };
        return new Proxy({} as EntityOperations, {
          get: (_entity, operation: string) => standard[operation] ?? ((id?: string, body?: Body) => call('POST', { id, body, operation })),
        });
      },
    });
}
