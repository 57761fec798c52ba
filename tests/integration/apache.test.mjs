// A platform behind Debian 12's Apache httpd with mod_auth_openidc
// (docs/quickstart.md, "Apache httpd with mod_auth_openidc"): this test
// writes its own httpd config into a temporary folder, starts
// `apache2 -f CONF -DFOREGROUND` on a free loopback port and stops it by
// its PID. Behind it, a small node:http echo server answers with the
// request headers it received, as JSON. Chromium (playwright-core) opens
// /protected/, the module sends it to cyberid's /authorize, the real
// cyberid-app approves, and the module exchanges the code (PKCE S256,
// client_secret_basic). The test then checks the claims at the backend,
// the module's refresh hook (it sends its whole OIDCScope), introspection
// by the module (AuthType oauth20 on /api) and the module's logout, which
// revokes the tokens at cyberid's /revoke before sending the browser to
// cyberid's end_session_endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { initDataDir, startServer } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen } from './lib/citizen.mjs';
import { addPlatform, appLogin, basicAuth } from './lib/oidc.mjs';

const APACHE = process.env.CYBERID_APACHE || '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const CHROMIUM = '/usr/bin/chromium';
const SUB = /^[a-z2-7]{26}$/;
const adult = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };

let temp, server, issuer, citizen, platform, echo, apache, front, browser;

function freePort(host) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, host, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** The backend: answers every request with {method, url, headers} as
 * JSON, and keeps them (`requests`). */
function startEcho() {
  const requests = [];
  const httpServer = http.createServer((request, response) => {
    const seen = { method: request.method, url: request.url, headers: request.headers };
    requests.push(seen);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(seen));
  });
  return new Promise((resolve) => {
    httpServer.listen(0, '127.0.0.1', () => resolve({
      port: httpServer.address().port, requests,
      close: () => new Promise((done) => httpServer.close(done)),
    }));
  });
}

/** The httpd config: what docs/quickstart.md shows, plus the test's own
 * folder, port and backend. */
function apacheConfig(dir, port) {
  const origin = `http://127.0.0.1:${port}`;
  const modules = ['mpm_event', 'authn_core', 'authz_core', 'authz_user', 'proxy', 'proxy_http', 'auth_openidc'];
  return `ServerRoot ${dir}
ServerName 127.0.0.1:${port}
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn
DefaultRuntimeDir ${dir}/run
Mutex file:${dir}/run default
DocumentRoot ${dir}/htdocs
${modules.map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`).join('\n')}
${process.getuid() === 0 ? 'User nobody\nGroup nogroup' : ''}
ServerLimit 1
StartServers 1
ThreadsPerChild 16
MaxRequestWorkers 16

# --- the platform's mod_auth_openidc configuration (docs/quickstart.md) ---
OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration
OIDCClientID ${platform.client_id}
OIDCClientSecret ${platform.client_secret}
OIDCRedirectURI ${origin}/protected/redirect_uri
OIDCCryptoPassphrase ${randomBytes(32).toString('hex')}
OIDCPKCEMethod S256
OIDCScope "openid realname_verified age_over_18"
OIDCRemoteUserClaim sub
OIDCPassClaimsAs headers
OIDCAuthNHeader X-Remote-User
# Introspection for the API (AuthType oauth20): every request checked
# at cyberid, so that a revoked token is refused at once.
OIDCOAuthServerMetadataURL ${issuer}/.well-known/oauth-authorization-server
OIDCOAuthIntrospectionEndpointAuth client_secret_basic
OIDCOAuthClientID ${platform.client_id}
OIDCOAuthClientSecret ${platform.client_secret}
OIDCOAuthRemoteUserClaim sub
OIDCOAuthTokenIntrospectionInterval -1

<Location /protected>
  AuthType openid-connect
  Require valid-user
  # (the test only: the backend sees the refresh token, to check it is
  # revoked at logout)
  OIDCPassRefreshToken On
</Location>
<Location /api>
  AuthType oauth20
  Require valid-user
</Location>
ProxyPass /protected/redirect_uri !
ProxyPass /protected/ http://127.0.0.1:${echo.port}/protected/
ProxyPass /api/ http://127.0.0.1:${echo.port}/api/
ProxyPass /loggedout http://127.0.0.1:${echo.port}/loggedout
`;
}

/** Starts apache2 in the foreground with this config; resolves {pid,
 * stop(), errorLog()}, once it answers. */
async function startApache(dir, port) {
  await mkdir(path.join(dir, 'run'));
  await mkdir(path.join(dir, 'htdocs'));
  const conf = path.join(dir, 'httpd.conf');
  await writeFile(conf, apacheConfig(dir, port), { mode: 0o600 });
  const child = spawn(APACHE, ['-f', conf, '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const errorLog = async () => `${stderr}${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`;
  let up = null;
  for (let i = 0; i < 100 && !up && child.exitCode === null; i++) {
    up = await fetch(`http://127.0.0.1:${port}/loggedout`).catch(() => null);
    if (!up) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`apache2 did not come up: ${await errorLog()}`);
  }
  return {
    pid: child.pid,
    errorLog,
    async stop() {
      process.kill(child.pid, 'SIGTERM');
      return exited;
    },
  };
}

/** POST /introspect at cyberid with the platform's credentials. */
async function introspect(token) {
  const response = await fetch(`${issuer}/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(platform) },
    body: new URLSearchParams({ token }),
  });
  assert.equal(response.status, 200);
  return response.json();
}

/** cyberid's access log entries (JSON lines) from index `from` on. */
const accessLog = (from) => server.logs.slice(from)
  .map((line) => { try { return JSON.parse(line); } catch { return null; } })
  .filter((entry) => entry && entry.event === 'request');

/** The access log entries from `from` on once one matches: cyberid
 * writes a request's line after answering it, and its stderr reaches this
 * process a moment later. */
async function logged(from, predicate) {
  for (let i = 0; i < 100 && !accessLog(from).some(predicate); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return accessLog(from);
}

before(async () => {
  temp = await initDataDir('apache');
  await importRegistry(temp, [adult]);
  const photos = await preparePhotos(temp.dir);
  echo = await startEcho();
  const port = await freePort('127.0.0.1');
  front = `http://127.0.0.1:${port}`;
  platform = await addPlatform(temp.data, temp.dir, {
    name: 'Apache Shop', redirectUris: [`${front}/protected/redirect_uri`, `${front}/loggedout`],
    claims: 'realname_verified,age_over_18',
  });
  server = await startServer(temp.data);
  issuer = server.url;
  citizen = await enrollCitizen(issuer, path.join(temp.dir, 'wallet.json'), adult, photos);
  // apache2's children run as nobody when started as root.
  const apacheDir = path.join(temp.dir, 'apache');
  await mkdir(apacheDir);
  await chmod(temp.dir, 0o755);
  await chmod(apacheDir, 0o755);
  apache = await startApache(apacheDir, port);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (apache) {
    const stopped = await apache.stop();
    assert.equal(stopped.code, 0, `apache2 exits 0 on SIGTERM: ${await apache.errorLog()}`);
  }
  if (echo) await echo.close();
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, `cyberid serve exits 0 on SIGTERM:\n${server.logs.slice(-20).join('\n')}`);
  }
  if (temp) await temp.cleanup();
});

test('mod_auth_openidc: chromium logs in, the backend gets the pairwise sub and the released claims; refresh, introspection, logout with revocation', async () => {
  const context = await browser.newContext();
  try {
    // The login: /protected/ → cyberid's page; the app approves, releasing
    // realname_verified only (the module asks for both claims).
    const page = await context.newPage();
    await page.goto(`${front}/protected/`);
    await page.waitForURL((url) => url.href.startsWith(`${issuer}/authorize?`));
    const authorize = new URL(page.url());
    assert.equal(authorize.searchParams.get('client_id'), platform.client_id);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorize.searchParams.get('scope'), 'openid realname_verified age_over_18');
    const shown = (await page.locator('#user-code').innerText()).trim();
    const landed = page.waitForResponse((r) => r.url() === `${front}/protected/` && r.status() === 200,
      { timeout: 15000 });
    const approved = await appLogin(citizen.wallet, shown, '--approve', '--release', 'realname_verified');
    assert.equal(approved.code, 0, approved.stderr);
    const first = await (await landed).json().catch(async () => assert.fail(await apache.errorLog()));

    // What the backend received: the pairwise sub and the released claim,
    // never the ID number, the name, the birth date or the web number.
    const headers = first.headers;
    const sub = headers.oidc_claim_sub;
    assert.match(sub, SUB);
    assert.equal(headers['x-remote-user'], sub);
    assert.equal(headers.oidc_claim_iss, issuer);
    assert.equal(headers.oidc_claim_aud, platform.client_id);
    assert.equal(headers.oidc_claim_acr, 'cyberid:face');
    assert.equal(headers.oidc_claim_realname_verified, '1');
    assert.equal(headers.oidc_claim_age_over_18, undefined, 'a claim the citizen did not release is absent');
    const everything = JSON.stringify(headers);
    for (const secret of [adult.id, adult.name, adult.birth, citizen.web_number, citizen.web_number.toLowerCase()]) {
      assert.ok(!everything.includes(secret), `the backend received ${secret}`);
    }
    assert.deepEqual(Object.keys(headers).filter((name) => /national|birth|name$/.test(name)), []);
    const accessToken = headers.oidc_access_token;
    const refreshToken = headers.oidc_refresh_token;
    assert.equal(typeof accessToken, 'string');
    assert.equal(typeof refreshToken, 'string');
    const live = await introspect(accessToken);
    assert.equal(live.active, true);
    assert.equal(live.sub, sub, 'the sub the module passes is the one cyberid gives this platform');
    assert.equal(live.client_id, platform.client_id);
    assert.equal(live.scope, 'openid realname_verified');
    assert.notEqual(sub.toUpperCase(), citizen.web_number);

    // The module's refresh hook: it refreshes with its whole OIDCScope
    // (wider than the grant); cyberid answers with the intersection.
    const beforeRefresh = server.logs.length;
    const refreshed = await context.request.get(`${front}/protected/redirect_uri?refresh=`
      + `${encodeURIComponent(`${front}/protected/`)}&access_token=${encodeURIComponent(accessToken)}`);
    assert.equal(refreshed.status(), 200, await refreshed.text());
    const second = (await refreshed.json()).headers;
    assert.equal(second.oidc_claim_sub, sub);
    assert.notEqual(second.oidc_access_token, accessToken, 'a new access token');
    assert.notEqual(second.oidc_refresh_token, refreshToken, 'the refresh token rotated');
    assert.ok((await logged(beforeRefresh, (e) => e.route === '/token')).some((e) => e.route === '/token' && e.status === 200),
      'the module refreshed at /token');
    const fresh = await introspect(second.oidc_access_token);
    assert.equal(fresh.active, true);
    assert.equal(fresh.scope, 'openid realname_verified', 'a refresh never widens the grant');
    assert.equal((await introspect(refreshToken)).active, false, 'the spent refresh token');

    // Introspection by the module: /api takes a Bearer token (AuthType
    // oauth20) and asks cyberid's /introspect with the platform's secret.
    const api = await fetch(`${front}/api/orders`, { headers: { authorization: `Bearer ${second.oidc_access_token}` } });
    assert.equal(api.status, 200, await apache.errorLog());
    const apiHeaders = (await api.json()).headers;
    assert.equal(apiHeaders.oidc_claim_sub, sub);
    assert.equal(apiHeaders.oidc_claim_client_id, platform.client_id);
    assert.equal(apiHeaders.oidc_claim_scope, 'openid realname_verified');
    assert.equal(apiHeaders['x-remote-user'], sub);
    const forged = await fetch(`${front}/api/orders`, { headers: { authorization: `Bearer ${randomBytes(32).toString('base64url')}` } });
    assert.equal(forged.status, 401);
    assert.equal((await fetch(`${front}/api/orders`)).status, 401);

    // Logout: the module revokes its tokens at /revoke, then sends the
    // browser to cyberid's end_session_endpoint, which comes back to the
    // registered /loggedout.
    const beforeLogout = server.logs.length;
    const logout = await context.request.get(`${front}/protected/redirect_uri?logout=`
      + `${encodeURIComponent(`${front}/loggedout`)}`, { maxRedirects: 0 });
    assert.equal(logout.status(), 302, await logout.text());
    const endSession = new URL(logout.headers().location);
    assert.equal(`${endSession.origin}${endSession.pathname}`, `${issuer}/logout`);
    assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${front}/loggedout`);
    // Two revocations: the refresh token, then the access token.
    const isRevoke = (e) => e.route === '/revoke';
    await logged(beforeLogout, (e) => isRevoke(e) && accessLog(beforeLogout).filter(isRevoke).length >= 2);
    const revocations = accessLog(beforeLogout).filter(isRevoke);
    assert.equal(revocations.length, 2, JSON.stringify(revocations));
    assert.ok(revocations.every((e) => e.status === 200), JSON.stringify(revocations));
    // Revoked by the module already, before the browser reaches /logout.
    assert.deepEqual(await introspect(second.oidc_refresh_token), { active: false });
    assert.deepEqual(await introspect(second.oidc_access_token), { active: false });
    assert.deepEqual(await introspect(accessToken), { active: false });
    const revoked = await fetch(`${front}/api/orders`, { headers: { authorization: `Bearer ${second.oidc_access_token}` } });
    assert.equal(revoked.status, 401, 'the API refuses the revoked token');
    await page.goto(endSession.href);
    await page.waitForURL((url) => url.href.startsWith(`${front}/loggedout`));
    assert.ok((await logged(beforeLogout, (e) => e.route === '/logout')).some((e) => e.route === '/logout'),
      'the browser went through /logout');
    // The session is gone: /protected/ sends the browser to log in again.
    const again = await context.request.get(`${front}/protected/`, { maxRedirects: 0 });
    assert.equal(again.status(), 302);
    assert.ok(again.headers().location.startsWith(`${issuer}/authorize?`), again.headers().location);
  } finally {
    await context.close();
  }
});
