// A real OpenID Connect provider (panva/oidc-provider, OpenID Certified) for Rampart's tests of
// its JWT bearer authorizer. It issues RS256-signed JWT access tokens (RFC 9068, `typ: at+jwt`)
// through the client-credentials grant, and adds test control routes:
//   POST /__control/rotate  -> a new RSA signing key goes first in the JWKS, the old one stays;
//                              answers {"kid": "<new kid>"}
//   GET  /__control/stats   -> {"jwks_requests", "discovery_requests", "token_requests"} since start
//
// Environment:
//   PORT      listen on 127.0.0.1:PORT (required)
//   ISSUER    the issuer (default http://127.0.0.1:PORT)
//   AUDIENCE  the `aud` of every access token (default rampart)
//   CLIENTS   JSON [{"client_id": "...", "client_secret": "...", "roles": ["analyst"]}]
//   BROWSER_CLIENTS  JSON [{"client_id": "...", "redirect_uris": ["http://127.0.0.1:P/console/callback"]}]:
//             public clients of the authorization-code flow with PKCE (S256 required); people
//             sign in on the provider's own login and consent pages (devInteractions)
//   USERS     JSON {"alice": ["analyst"], "vic": ["viewer"]}: the roles put in the access token
//             of a person signed in with that login (any password is accepted on the dev
//             login page)
//
// Prints `READY <issuer>` on stdout once listening; exits cleanly on SIGTERM or SIGINT.
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const port = Number.parseInt(process.env.PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('provider.mjs: PORT must be set to a TCP port');
  process.exit(2);
}
const issuer = process.env.ISSUER || `http://127.0.0.1:${port}`;
const audience = process.env.AUDIENCE || 'rampart';
const clients = JSON.parse(process.env.CLIENTS || '[]');
if (!Array.isArray(clients)) {
  console.error('provider.mjs: CLIENTS must be a JSON array');
  process.exit(2);
}
const rolesByClient = new Map(clients.map((c) => [c.client_id, c.roles ?? []]));
const browserClients = JSON.parse(process.env.BROWSER_CLIENTS || '[]');
const rolesByUser = new Map(Object.entries(JSON.parse(process.env.USERS || '{}')));

// A resource indicator must be an absolute URI; the audience itself need not be one.
const resourceIndicator = URL.canParse(audience) ? audience : `urn:rampart:audience:${audience}`;

// Cookie signing keys: unused by the client-credentials grant, set so the provider does not warn.
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

/** A new RSA-2048 private JWK for RS256 signing, with a fresh kid. */
function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}

/** An oidc-provider instance signing with `keys[0]` and publishing all of `keys`. */
function buildProvider(keys) {
  const provider = new Provider(issuer, {
    clients: [
      ...clients.map((c) => ({
        client_id: c.client_id,
        client_secret: c.client_secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        // client_secret_basic and client_secret_post are interchangeable for a client
        // registered with either one.
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      ...browserClients.map((c) => ({
        client_id: c.client_id,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: c.redirect_uris,
        token_endpoint_auth_method: 'none',
      })),
    ],
    pkce: { required: () => true },
    findAccount: async (_ctx, id) => (rolesByUser.has(id)
      ? { accountId: id, claims: async () => ({ sub: id }) }
      : undefined),
    jwks: { keys },
    cookies: { keys: cookieKeys },
    features: {
      devInteractions: { enabled: browserClients.length > 0 },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No `resource` in the request: every token is for Rampart.
        defaultResource: async () => resourceIndicator,
        // The code's access token is for Rampart too (a JWT), not only for userinfo.
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: '',
          audience,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: async (_ctx, token) => {
      if (token.accountId) {
        const roles = rolesByUser.get(token.accountId);
        return roles ? { roles: [...roles] } : undefined;
      }
      const roles = rolesByClient.get(token.clientId);
      return roles ? { roles: [...roles] } : undefined;
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('provider.mjs: server_error', err));
  return provider;
}

let keys = [newSigningKey()];
let provider = buildProvider(keys);
let forward = provider.callback();

const stats = { jwks_requests: 0, discovery_requests: 0, token_requests: 0 };
// oidc-provider's default routes, served at the root of this server whatever ISSUER says.
const jwksPath = '/jwks';
const discoveryPath = '/.well-known/openid-configuration';
const tokenPath = '/token';

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname === '/__control/rotate') {
    if (req.method !== 'POST') return json(res, 405, { error: 'use POST' });
    // The provider's keystore is fixed at construction: build a new instance with the new key
    // first (it signs with it) and the old ones after (still published), then swap.
    keys = [newSigningKey(), ...keys];
    provider = buildProvider(keys);
    forward = provider.callback();
    return json(res, 200, { kid: keys[0].kid });
  }
  if (pathname === '/__control/stats') {
    if (req.method !== 'GET') return json(res, 405, { error: 'use GET' });
    return json(res, 200, stats);
  }
  if (pathname === jwksPath) stats.jwks_requests += 1;
  else if (pathname === discoveryPath) stats.discovery_requests += 1;
  else if (pathname === tokenPath) stats.token_requests += 1;
  return forward(req, res);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`READY ${issuer}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
