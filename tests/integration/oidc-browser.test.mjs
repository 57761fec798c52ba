// The login in a real browser (docs/api.md, "The login page and its
// polling"): Debian's chromium, driven by playwright-core, opens a small
// test platform (node:http on 127.0.0.1, an openid-client relying party),
// clicks "Log in", is sent to cyberid's /authorize, reads the user code
// from #user-code; the real cyberid-app approves (or denies), the page's
// own polling sends the browser back to the platform's /callback, and the
// platform exchanges the code with openid-client and shows the sub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import { initDataDir, startServer } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen } from './lib/citizen.mjs';
import { addPlatform, discover, loginChecks, authorizationUrl, appLogin } from './lib/oidc.mjs';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/authorize.png';
const SCOPE = 'openid realname_verified age_over_18';
const adult = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };

let temp, server, browser, platformServer, citizen;

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The test platform: "/" with a "Log in" link, "/login" (302 to
 * cyberid's authorization URL, PKCE S256 + state + nonce kept in memory
 * by state), "/callback" (the code exchange with openid-client, then the
 * sub, or the error, on the page). `callbacks` records each callback URL. */
function startPlatform() {
  const pending = new Map();
  const callbacks = [];
  const platform = { config: null, registration: null, callbacks, origin: null };
  const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><h1>${escape(title)}</h1>${body}</body></html>`;
  const handler = async (request, response) => {
    const url = new URL(request.url, platform.origin);
    const send = (status, html, headers = {}) => {
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      response.end(html);
    };
    if (url.pathname === '/') return send(200, page('Test Platform', '<a id="login" href="/login">Log in</a>'));
    if (url.pathname === '/login') {
      const checks = await loginChecks();
      pending.set(checks.state, checks);
      const target = authorizationUrl(platform.config, platform.registration, checks, SCOPE);
      return send(302, '', { location: target.href });
    }
    if (url.pathname === '/callback') {
      callbacks.push(url.href);
      const checks = pending.get(url.searchParams.get('state'));
      if (!checks) return send(400, page('Unknown state', ''));
      pending.delete(checks.state);
      if (url.searchParams.has('error')) {
        return send(200, page('Login refused', `<p id="error">${escape(url.searchParams.get('error'))}</p>`));
      }
      try {
        const tokens = await client.authorizationCodeGrant(platform.config, url, {
          pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        const info = await client.fetchUserInfo(platform.config, tokens.access_token, claims.sub);
        return send(200, page('Logged in', `<p>sub <span id="sub">${escape(claims.sub)}</span></p>`
          + `<p>realname_verified <span id="realname">${escape(info.realname_verified)}</span></p>`
          + `<p>age_over_18 <span id="age">${escape(claims.age_over_18)}</span></p>`));
      } catch (error) {
        return send(500, page('Exchange failed', `<pre id="failure">${escape(error.stack)}</pre>`));
      }
    }
    return send(404, page('Not found', ''));
  };
  const httpServer = http.createServer((request, response) => {
    handler(request, response).catch((error) => { response.writeHead(500); response.end(String(error)); });
  });
  return new Promise((resolve) => {
    httpServer.listen(0, '127.0.0.1', () => {
      platform.origin = `http://127.0.0.1:${httpServer.address().port}`;
      platform.close = () => new Promise((done) => httpServer.close(done));
      resolve(platform);
    });
  });
}

before(async () => {
  temp = await initDataDir('oidc-browser');
  await importRegistry(temp, [adult]);
  const photos = await preparePhotos(temp.dir);
  platformServer = await startPlatform();
  platformServer.registration = await addPlatform(temp.data, temp.dir, {
    name: 'Browser Test Platform', redirectUris: [`${platformServer.origin}/callback`],
    claims: 'realname_verified,age_over_18',
  });
  server = await startServer(temp.data);
  citizen = await enrollCitizen(server.url, path.join(temp.dir, 'wallet.json'), adult, photos);
  platformServer.config = await discover(server.url, platformServer.registration);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (platformServer) await platformServer.close();
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, 'cyberid serve exits 0 on SIGTERM');
  }
  if (temp) await temp.cleanup();
});

/** Opens the platform, clicks "Log in", waits for cyberid's login page
 * and resolves {page, shown (the code as shown), authorizeUrl}. */
async function toLoginPage(context) {
  const page = await context.newPage();
  await page.goto(`${platformServer.origin}/`);
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(`${server.url}/authorize?`)),
    page.getByRole('link', { name: 'Log in' }).click(),
  ]);
  const shown = (await page.locator('#user-code').innerText()).trim();
  assert.match(shown, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  return { page, shown, authorizeUrl: page.url() };
}

test('chromium logs in through the test platform: /authorize, the app approves, /callback with a valid code', async () => {
  const context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
  try {
    const { page, shown } = await toLoginPage(context);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.match(await page.title(), /\S/, 'the login page has a title');
    assert.equal(await page.locator('svg').count() >= 1, true, 'the QR code is inline SVG');
    // The page's own polling takes the browser back once the app approves.
    const approved = await appLogin(citizen.wallet, shown, '--approve');
    assert.equal(approved.code, 0, approved.stderr);
    await page.waitForURL((url) => url.href.startsWith(`${platformServer.origin}/callback`), { timeout: 15000 });
    await page.waitForLoadState('load');
    assert.equal(await page.locator('#failure').count(), 0, await page.content());
    assert.match((await page.locator('#sub').innerText()).trim(), /^[a-z2-7]{26}$/);
    assert.equal((await page.locator('#realname').innerText()).trim(), 'true');
    assert.equal((await page.locator('#age').innerText()).trim(), 'true');
    const callback = new URL(platformServer.callbacks.at(-1));
    assert.ok(callback.searchParams.get('code'), 'the callback has a code');
    assert.ok(callback.searchParams.get('state'), 'the callback has the state');
    assert.equal(callback.searchParams.get('iss'), server.url);
  } finally {
    await context.close();
  }
});

test('chromium and a denial: the browser lands on /callback?error=access_denied', async () => {
  const context = await browser.newContext();
  try {
    const { page, shown } = await toLoginPage(context);
    const denied = await appLogin(citizen.wallet, shown, '--deny');
    assert.equal(denied.code, 0, denied.stderr);
    await page.waitForURL((url) => url.href.startsWith(`${platformServer.origin}/callback`), { timeout: 15000 });
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('error'), 'access_denied');
    assert.ok(landed.searchParams.get('state'));
    assert.equal(landed.searchParams.get('iss'), server.url);
    assert.equal(landed.searchParams.get('code'), null);
    assert.equal((await page.locator('#error').innerText()).trim(), 'access_denied');
  } finally {
    await context.close();
  }
});
