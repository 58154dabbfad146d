import type { OauthScope } from '../../core/oauth/scopes.ts';
import { OAUTH_SCOPES } from '../../core/oauth/scopes.ts';

/** The consent and error pages: plain server-rendered HTML, no script, every value escaped. */

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0;display:flex;justify-content:center}
main{background:#fff;margin:4rem 1rem;padding:2rem;border-radius:8px;max-width:28rem;width:100%;box-shadow:0 1px 4px #0002}
h1{font-size:1.25rem;margin-top:0}ul{padding-left:1.2rem}li{margin:.4rem 0}
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem}
.actions{display:flex;gap:.5rem;margin-top:1.2rem}button{padding:.6rem 1.2rem;border-radius:4px;border:1px solid #888;background:#fff;cursor:pointer}
button[value=approve]{background:#2356c7;color:#fff;border-color:#2356c7}.error{color:#b00020}.muted{color:#666;font-size:.9rem}`;

export interface PageFrame {
  /** Per-response nonce allowing the one inline style element under the page's CSP. */
  styleNonce: string;
}

function page(frame: PageFrame, title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style nonce="${frame.styleNonce}">${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

export interface ConsentPageInput extends PageFrame {
  applicationName: string;
  scopes: OauthScope[];
  /** The authorization request's parameters, posted back unchanged. */
  params: Record<string, string | undefined>;
  csrfToken: string;
  /** The signed-in user, or null to ask for a user name and password. */
  username: string | null;
  error?: string;
}

export function consentPage(input: ConsentPageInput): string {
  const hidden = Object.entries(input.params)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value!)}">`)
    .join('');
  const scopes = input.scopes.map((s) => `<li>${escapeHtml(OAUTH_SCOPES[s].description)} <span class="muted">(${s})</span></li>`).join('');
  const signIn = input.username
    ? `<p class="muted">Signed in as <strong>${escapeHtml(input.username)}</strong>.</p>`
    : `<label for="username">User name</label><input type="text" id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>`;
  const name = escapeHtml(input.applicationName);
  return page(
    input,
    `Authorize ${input.applicationName}`,
    `<h1>Authorize ${name}</h1>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<p><strong>${name}</strong> asks to access your Nimbus account. It will be able to:</p>
<ul>${scopes}</ul>
<form method="post" action="/api/oauth/authorize">${hidden}<input type="hidden" name="csrf_token" value="${escapeHtml(input.csrfToken)}">
${signIn}
<div class="actions"><button type="submit" name="decision" value="approve">Approve</button><button type="submit" name="decision" value="deny" formnovalidate>Deny</button></div>
</form>
<p class="muted">You can revoke this access at any time from your authorized applications.</p>`,
  );
}

export function errorPage(frame: PageFrame, message: string): string {
  return page(frame, 'Authorization failed', `<h1>This authorization request cannot continue</h1><p class="error" role="alert">${escapeHtml(message)}</p>`);
}
