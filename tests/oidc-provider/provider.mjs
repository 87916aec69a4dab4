// A certified third-party OpenID provider (npm `oidc-provider`, pinned in package.json)
// on 127.0.0.1, issuing RFC 9068 JWT access tokens with the client-credentials grant and
// resource indicators: the issuer xconnauth's interop tests verify against.
//
//   node provider.mjs --state DIR [--port N] [--keys a,b]
//
// --state DIR  where the signing keys live (created on first use, reused by restarts,
//              so a restart with another --keys order is a key rotation)
// --port N     listen on N (default: a free port); the issuer is the bare origin
//              http://127.0.0.1:N, as oidc-provider announces it (no path)
// --keys a,b   the key names to publish, the first one signs (default: a)
//
// Prints one JSON line {"issuer", "port", "kids"} once it listens; then serves until
// killed. Client `svc` / secret `svc-secret` (client_secret_basic, client_credentials).
// Resource servers: RESOURCE (header typ at+jwt, the RFC 9068 default) and
// PLAIN_RESOURCE (header typ rewritten to JWT, for the header_types refusal test).
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

export const RESOURCE = 'https://api.example.test/orders';
export const PLAIN_RESOURCE = 'https://plain-jwt.example.test/orders';

const { values: args } = parseArgs({
  options: {
    state: { type: 'string' },
    port: { type: 'string', default: '0' },
    keys: { type: 'string', default: 'a' },
  },
});
if (!args.state) {
  console.error('usage: node provider.mjs --state DIR [--port N] [--keys a,b]');
  process.exit(2);
}
mkdirSync(args.state, { recursive: true });

/** The private JWK named `name`, made (RSA 2048) and stored on first use. */
function key(name) {
  const file = join(args.state, `key-${name}.json`);
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `oidc-provider-${name}`, use: 'sig', alg: 'RS256' };
    writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

const keys = args.keys.split(',').filter(Boolean).map(key);

// Listen first: the issuer must name the port, and port 0 picks a free one.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port), '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'svc',
      client_secret: 'svc-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== RESOURCE && resource !== PLAIN_RESOURCE) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'orders:read orders:write',
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  formats: {
    customizers: {
      jwt: (_ctx, _token, jwt) => {
        if (jwt.payload.aud === PLAIN_RESOURCE) {
          // The one token shape xconnauth must refuse under header_types ["at+jwt"].
          jwt.header = { typ: 'JWT' };
        }
      },
    },
  },
});
server.on('request', provider.callback());

console.log(JSON.stringify({ issuer, port, kids: keys.map((k) => k.kid) }));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
