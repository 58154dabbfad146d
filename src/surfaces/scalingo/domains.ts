import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Domain, DomainInput } from '../../core/apps/domain-service.ts';
import { ValidationFailed } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { withFieldNames } from '../../http/field-names.ts';
import { rooted } from './errors.ts';
import { optionalBoolean, optionalString } from './input.ts';

type AppParams = { Params: { app: string } };
type DomainParams = { Params: { app: string; id: string } };

/** Core's certificate fields under Scalingo's names. */
const FIELDS = { tls_cert: 'tlscert', tls_key: 'tlskey' };

/** What Scalingo shows of a certificate: its subject, its key's kind and size, and until when it is valid. */
function certificateFacts(pem: string) {
  const cert = new X509Certificate(pem);
  const key = cert.publicKey.asymmetricKeyDetails;
  const kind = (cert.publicKey.asymmetricKeyType ?? 'key').toUpperCase();
  return { tlscert: `/${cert.subject.split('\n').join('/')}`, tlskey: key?.modulusLength ? `${kind} ${key.modulusLength}` : key?.namedCurve ? `${kind} ${key.namedCurve}` : kind };
}

const renderDomain = (d: Domain) => ({
  id: d.id,
  app_id: d.app_id,
  name: d.name,
  created_at: d.created_at,
  updated_at: d.updated_at,
  ...(d.tls_cert ? certificateFacts(d.tls_cert) : {}),
  validity: d.tls_expires_at,
  ssl: d.tls_cert !== null,
  ssl_status: d.tls_cert !== null ? 'success' : null,
  canonical: false,
  letsencrypt: false,
  letsencrypt_enabled: false,
  letsencrypt_status: null,
  acme_dns_fqdn: null,
  acme_dns_value: null,
  acme_dns_error: {},
});

/**
 * The certificate fields of a request: both given sets them, both empty (as the CLI unsets
 * them) removes them. A canonical domain and Let's Encrypt certificates are not offered: asking
 * for them is a 422, never ignored.
 */
function domainInput(body: Record<string, unknown>): Omit<DomainInput, 'name'> {
  if (optionalBoolean(body, 'canonical') === true) throw ValidationFailed.field('canonical', 'is not offered: every domain of an app serves it');
  if (optionalBoolean(body, 'letsencrypt_enabled') === true) throw ValidationFailed.field('letsencrypt_enabled', 'is not offered: give the certificate and key (tlscert, tlskey)');
  const cert = optionalString(body, 'tlscert');
  const key = optionalString(body, 'tlskey');
  if (cert === '' && key === '') return { tls_cert: null, tls_key: null };
  return cert === undefined && key === undefined ? {} : { tls_cert: cert, tls_key: key };
}

/** An app's custom domains, by id or name, with their certificates (served over HTTPS by SNI). */
export function domainRoutes(app: FastifyInstance, { apps }: Pick<CoreServices, 'apps'>) {
  const { domains } = apps;

  app.get<AppParams>('/v1/apps/:app/domains', async (request) => ({ domains: (await domains.list(request.actor, request.params.app)).map(renderDomain) }));

  app.post<AppParams>('/v1/apps/:app/domains', async (request, reply) => {
    const body = rooted(request.body, 'domain');
    const input = { name: optionalString(body, 'name'), ...domainInput(body) };
    const made = await withFieldNames(FIELDS, () => domains.create(request.actor, request.params.app, input));
    return reply.code(201).send({ domain: renderDomain(made) });
  });

  app.get<DomainParams>('/v1/apps/:app/domains/:id', async (request) => ({ domain: renderDomain(await domains.get(request.actor, request.params.app, request.params.id)) }));

  app.patch<DomainParams>('/v1/apps/:app/domains/:id', async (request) => {
    const input = domainInput(rooted(request.body, 'domain'));
    return { domain: renderDomain(await withFieldNames(FIELDS, () => domains.update(request.actor, request.params.app, request.params.id, input))) };
  });

  app.delete<DomainParams>('/v1/apps/:app/domains/:id', async (request, reply) => {
    await domains.remove(request.actor, request.params.app, request.params.id);
    return reply.code(204).send();
  });
}
