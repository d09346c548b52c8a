// A real OpenID provider on 127.0.0.1 for the single sign-on tests: panva's oidc-provider with
// the test's own signing keys, one confidential client (Posture) and a few users read from a
// JSON file at every sign-in, so a test can change someone's groups between two logins.
//
// Usage: node provider.mjs CONFIG.json — CONFIG holds {client, jwks, cookie_keys, users_file};
// once listening, one JSON line {"issuer": ...} is printed on stdout.
//
// The login page is a minimal interaction of our own (user name and password, checked against
// the users file); consent is given on the user's behalf, as a company's provider does for its
// own applications. POST /__test__/next-id-token {"id_token": ...} makes the next token response
// carry that ID token instead of the provider's, for tests of tokens Posture must refuse.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = () => JSON.parse(readFileSync(config.users_file, 'utf8'));
let nextIdToken = null;

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const loginForm = (uid, error) => page('Sign in to the test provider', `
  ${error ? `<p role="alert">${escape(error)}</p>` : ''}
  <form method="post" action="/interaction/${escape(uid)}">
    <label for="login">User name</label> <input id="login" name="login" autocomplete="off">
    <label for="password">Password</label> <input id="password" name="password" type="password">
    <button type="submit">Sign in</button>
  </form>`);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

function configuration() {
  return {
    clients: [{
      ...config.client,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: config.jwks,
    cookies: { keys: config.cookie_keys },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    async findAccount(ctx, id) {
      const user = users()[id];
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: user.email,
            email_verified: true,
            name: user.name,
            preferred_username: id,
            groups: user.groups,
          };
        },
      };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page('Sign out of the test provider', `${form}
            <button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Signed out of the test provider', '');
        },
      },
    },
    // Every authorization request must carry a PKCE challenge (S256).
    pkce: { required: () => true },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Provider error', `<pre>${escape(JSON.stringify(out))}</pre>`);
    },
  };
}

async function interaction(provider, req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'GET') {
    send(res, 200, loginForm(uid));
    return;
  }
  const form = await readForm(req);
  const user = users()[form.get('login')];
  if (!user || user.password !== form.get('password')) {
    send(res, 200, loginForm(uid, 'Wrong user name or password.'));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } },
    { mergeWithLastSubmission: false });
}

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration());

  provider.use(async (ctx, next) => {
    if (ctx.path === '/__test__/next-id-token' && ctx.method === 'POST') {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      nextIdToken = JSON.parse(Buffer.concat(chunks).toString('utf8')).id_token;
      ctx.status = 204;
      return;
    }
    await next();
    if (ctx.oidc?.route === 'token' && nextIdToken && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: nextIdToken };
      nextIdToken = null;
    }
  });

  // Refusals go to provider.log beside the users file, for whoever reads a failed test.
  for (const event of ['authorization.error', 'grant.error', 'end_session.error',
    'userinfo.error', 'server_error']) {
    provider.on(event, (ctx, error) => {
      console.error(event, error.message, error.error_description ?? '', error.cause ?? '');
    });
  }

  const handle = provider.callback();
  server.on('request', (req, res) => {
    const match = /^\/interaction\/([^/?]+)$/.exec(req.url.split('?')[0]);
    if (!match) {
      handle(req, res);
      return;
    }
    interaction(provider, req, res, match[1]).catch((error) => {
      send(res, 400, page('Interaction failed', `<pre>${escape(error.message)}</pre>`));
    });
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
