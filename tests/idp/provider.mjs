// OpenID Provider for the Hatchway test suite.
//
// Usage: node tests/idp/provider.mjs PORT   (or IDP_PORT=PORT node tests/idp/provider.mjs)
//
// oidc-provider is loaded from tests/idp/node_modules (`npm ci --prefix tests/idp`), or
// from the node_modules folder named by the IDP_NODE_MODULES environment variable.
//
// Listens on 127.0.0.1 only, prints a single "READY <issuer>" line on stdout once it
// accepts connections and exits on SIGTERM or SIGINT. Everything is kept in memory.
// oidc-provider's own start-up warnings (Node version, in-memory adapter, development
// interactions) go to stderr.

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HOST = '127.0.0.1';
const DAY = 24 * 60 * 60;

function parsePort() {
  const raw = process.argv[2] ?? process.env.IDP_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`usage: node provider.mjs PORT (or set IDP_PORT); got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

function readableName(login) {
  const localPart = login.split('@')[0];
  return localPart
    .split(/[._+-]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(' ') || login;
}

// Every login name is a valid account, and its identifier is the login name itself.
async function findAccount(ctx, accountId) {
  return {
    accountId,
    async claims() {
      return {
        sub: accountId,
        email: accountId,
        email_verified: true,
        name: readableName(accountId),
      };
    },
  };
}

// Lets browsers call CORS-enabled endpoints only from the origins of the client's redirect URIs.
function clientBasedCORS(ctx, origin, client) {
  return client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin);
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

// A plain error page, because the stock one loads a web font and logs a notice on stdout.
async function renderError(ctx, out) {
  const rows = Object.entries(out)
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`)
    .join('\n');
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Error</title></head>
<body><h1>Error</h1>
${rows}
</body></html>`;
}

// The stock logout pages also load a web font and log a notice on stdout. `form` is the
// hidden form "op.logoutForm" that oidc-provider builds, and the "logout" field confirms.
async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign out</title></head>
<body><h1>Sign out of ${escapeHtml(ctx.host)}?</h1>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>
</body></html>`;
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signed out</title></head>
<body><h1>Signed out</h1></body></html>`;
}

// These durations equal the defaults of oidc-provider 9.13. Setting them explicitly keeps
// the library from printing a notice on stdout the first time each one is used.
const ttl = {
  AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || 60 * 60,
  AuthorizationCode: 60,
  ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || 10 * 60,
  IdToken: 60 * 60,
  Interaction: 60 * 60,
  Session: 14 * DAY,
  Grant: 14 * DAY,
  RefreshToken(ctx, token, client) {
    const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
    const publicWebClient = client.applicationType === 'web' && client.clientAuthMethod === 'none';
    if (rotated && publicWebClient && !token.isSenderConstrained()) {
      return rotated.remainingTTL;
    }
    return 14 * DAY;
  },
};

function configuration() {
  const jwks = JSON.parse(readFileSync(new URL('./jwks.json', import.meta.url), 'utf8'));
  return {
    jwks,
    cookies: {
      keys: ['hatchway-test-idp-cookie-key-1', 'hatchway-test-idp-cookie-key-0'],
    },
    findAccount,
    clientBasedCORS,
    renderError,
    ttl,
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
    },
  };
}

async function loadProvider() {
  const modulesDir = process.env.IDP_NODE_MODULES
    || fileURLToPath(new URL('./node_modules', import.meta.url));
  const entryPoint = createRequire(import.meta.url).resolve(join(modulesDir, 'oidc-provider'));
  const module = await import(pathToFileURL(entryPoint).href);
  return module.default;
}

async function main() {
  const port = parsePort();
  const Provider = await loadProvider();
  const issuer = `http://${HOST}:${port}`;
  const provider = new Provider(issuer, configuration());

  const server = provider.listen(port, HOST);
  await once(server, 'listening');
  process.stdout.write(`READY ${issuer}\n`);

  const shutDown = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', shutDown);
  process.once('SIGINT', shutDown);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
