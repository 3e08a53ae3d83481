// The OAuth 2.0 authorization server of the HTTP-API tests: oidc-provider
// on loopback, with the client-credentials grant, and the authorization-code
// grant (through its own development login and consent pages) issuing
// refresh tokens that rotate on every use.
//
//   node provider.mjs PORT
// Environment: CLIENT_SECRET (of client `connector-host`), TOKEN_TTL
// (seconds an access token lives, 60 when unset). Prints `listening` when
// ready and `token issued` for every access token it grants.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const ttl = Number(process.env.TOKEN_TTL || 60);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'connector-host',
    client_secret: process.env.CLIENT_SECRET,
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    redirect_uris: ['http://127.0.0.1/callback'],
    response_types: ['code'],
  }],
  scopes: ['openid', 'offline_access', 'read'],
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  pkce: { required: () => false },
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://api.example.test',
      getResourceServerInfo: () => ({ scope: 'read write', accessTokenFormat: 'jwt', accessTokenTTL: ttl }),
      useGrantedResource: () => true,
    },
  },
});
provider.on('grant.success', () => console.log('token issued'));
provider.on('grant.error', (ctx, error) => console.log(`grant refused: ${error.message}`));
provider.listen(port, '127.0.0.1', () => console.log('listening'));
