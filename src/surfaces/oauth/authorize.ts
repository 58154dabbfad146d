import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimited } from '../../core/errors.ts';
import { CONSENT_SESSION_SECONDS } from '../../core/oauth/consent-sign-in.ts';
import { OauthError } from '../../core/oauth/oauth-errors.ts';
import type { AuthorizationParams, AuthorizationRequest } from '../../core/oauth/oauth-server.ts';
import type { OauthServices } from '../../core/oauth/oauth-services.ts';
import { baseUrl } from '../../http/surface.ts';
import { consentPage, errorPage } from './consent-page.ts';
import { readCookie, setCookie } from './cookies.ts';
import { createCsrf } from './csrf.ts';
import { singleParams } from './params.ts';

const SESSION_COOKIE = 'nimbus_oauth_session';
/** Longer names cannot exist; they are refused before any lookup. */
const USERNAME_MAX = 150;
const AUTHORIZATION_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'] as const;

/** Where a form on the page may post, and so where its redirect may go: this server and the client's redirect URI. */
function formTargets(redirectUri: string | undefined): string {
  if (!redirectUri) return "'self'";
  const url = new URL(redirectUri);
  return `'self' ${url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol}`;
}

/**
 * Headers of every page: no script at all, one nonce'd style, never framed, never cached. The
 * referrer policy is same-origin, not no-referrer, which would make the form's Origin "null".
 */
function sendPage(reply: FastifyReply, status: number, html: (styleNonce: string) => string, redirectUri?: string): FastifyReply {
  const styleNonce = randomBytes(16).toString('base64');
  return reply
    .code(status)
    .header(
      'content-security-policy',
      `default-src 'none'; style-src 'nonce-${styleNonce}'; form-action ${formTargets(redirectUri)}; frame-ancestors 'none'; base-uri 'none'`,
    )
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(html(styleNonce));
}

function pickAuthorizationParams(params: Record<string, string | undefined>): AuthorizationParams {
  return Object.fromEntries(AUTHORIZATION_PARAMS.map((name) => [name, params[name]]));
}

/** The client's redirect URI with the response parameters, and `iss` (RFC 9207) so the client can tell which server answered. */
function redirectTo(request: FastifyRequest, redirectUri: string, response: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries({ ...response, iss: baseUrl(request) })) if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}

/**
 * `/api/oauth/authorize`: the user signs in (or is already), reads what the application asks
 * for in plain words, and approves or denies. A bad client or redirect URI is shown on this
 * page; every other error returns to the client's redirect URI.
 */
export function authorizeEndpoint(app: FastifyInstance, { server, signIn, keys }: OauthServices): void {
  const csrf = createCsrf(keys);
  const tags = ['oauth'];

  /** The validated request, or null once an error page or an error redirect has been sent. */
  async function validate(request: FastifyRequest, reply: FastifyReply, params: AuthorizationParams): Promise<AuthorizationRequest | null> {
    let client: Awaited<ReturnType<typeof server.resolveClient>>;
    try {
      client = await server.resolveClient(params);
    } catch (error) {
      if (!(error instanceof OauthError)) throw error;
      sendPage(reply, 400, (styleNonce) => errorPage({ styleNonce }, error.message));
      return null;
    }
    try {
      return await server.checkAuthorizationRequest(client, params);
    } catch (error) {
      if (!(error instanceof OauthError)) throw error;
      reply.redirect(redirectTo(request, client.redirectUri, { error: error.code, error_description: error.message, state: params.state }), 302);
      return null;
    }
  }

  async function showConsent(request: FastifyRequest, reply: FastifyReply, authorization: AuthorizationRequest, params: AuthorizationParams, status: number, error?: string) {
    const user = await signIn.sessionUser(readCookie(request, SESSION_COOKIE));
    const csrfToken = await csrf.issue(request, reply);
    return sendPage(
      reply,
      status,
      (styleNonce) => consentPage({ styleNonce, applicationName: authorization.application.name, scopes: authorization.scopes, params: { ...params }, csrfToken, username: user?.username ?? null, error }),
      authorization.redirectUri,
    );
  }

  app.get('/api/oauth/authorize', { schema: { tags, summary: 'Authorization endpoint: the sign-in and consent page', security: [] } }, async (request, reply) => {
    const params = pickAuthorizationParams(singleParams(request.query));
    const authorization = await validate(request, reply, params);
    if (!authorization) return reply;
    return showConsent(request, reply, authorization, params, 200);
  });

  app.post('/api/oauth/authorize', { schema: { tags, summary: 'The consent form: approve or deny', security: [] } }, async (request, reply) => {
    const form = singleParams(request.body);
    if (!(await csrf.verify(request, form.csrf_token))) {
      return sendPage(reply, 403, (styleNonce) => errorPage({ styleNonce }, 'The form expired or did not come from this site. Go back to the application and start again.'));
    }
    const params = pickAuthorizationParams(form);
    const authorization = await validate(request, reply, params);
    if (!authorization) return reply;
    if (form.decision !== 'approve') {
      return reply.redirect(redirectTo(request, authorization.redirectUri, { error: 'access_denied', error_description: 'The user denied the request.', state: authorization.state }), 303);
    }

    let user = await signIn.sessionUser(readCookie(request, SESSION_COOKIE));
    if (!user) {
      if (!form.username || !form.password) return showConsent(request, reply, authorization, params, 400, 'Enter your user name and password.');
      let signedIn: Awaited<ReturnType<typeof signIn.signIn>> = null;
      try {
        if (form.username.length <= USERNAME_MAX) signedIn = await signIn.signIn(form.username, form.password, { requestId: request.id, clientAddress: request.ip });
      } catch (error) {
        if (!(error instanceof RateLimited)) throw error;
        reply.header('retry-after', String(error.retryAfterSeconds));
        return showConsent(request, reply, authorization, params, 429, `Too many failed sign-ins. Try again in ${Math.ceil(error.retryAfterSeconds / 60)} minute(s).`);
      }
      if (!signedIn) return showConsent(request, reply, authorization, params, 401, 'Wrong user name or password.');
      setCookie(request, reply, SESSION_COOKIE, signedIn.sessionToken, CONSENT_SESSION_SECONDS);
      user = signedIn.user;
    }
    const code = await server.approve(authorization, user.id);
    return reply.redirect(redirectTo(request, authorization.redirectUri, { code, state: authorization.state }), 303);
  });
}
