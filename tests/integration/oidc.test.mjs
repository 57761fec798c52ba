// Login through OpenID Connect end to end (docs/api.md, "Login (OpenID
// Connect, cross-device)" and "Direct verification"), with a real
// relying-party library: openid-client drives discovery, the authorization
// URL (PKCE S256, state, nonce), the code exchange with ID token
// validation against /jwks.json, userinfo, refresh, introspection and
// revocation; the real `cyberid-app` approves or denies from the user code
// the login page shows. Then every refusal with its RFC 6749 / 6750 code,
// pairwise subjects, private_key_jwt, signing key rotation and /v1/verify.
//
// One service, one data folder and a few enrolled citizens serve every
// test of this file (node:test runs them in order); a test that changes a
// citizen (suspension, revoked device) uses one of its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as cryptoSign, verify as cryptoVerify, webcrypto,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as client from 'openid-client';
import {
  run, initDataDir, startServer, sql, sqlText, execute, databaseCopy, containsSecret, eventTablesDump, inquiry,
} from './lib/harness.mjs';
import { exec, app, nationalId, importRegistry, preparePhotos, enrollCitizen } from './lib/citizen.mjs';
import {
  addPlatform, discover, loginChecks, authorizationUrl, shownUserCode, pageLoginId, pollOnce,
  pollDecided, appLogin, redirectParams, decodeJwt, insecure, basicAuth,
  deviceToken as deviceTokenFor,
} from './lib/oidc.mjs';

const SUB = /^[a-z2-7]{26}$/;
const SCOPE = 'openid realname_verified age_over_18';
const thisYear = new Date().getUTCFullYear();

// The citizens (same reference photo, different registry records): an
// adult, a 16-year-old (14 to 17 may enroll), and two kept for the tests
// that suspend an identity or revoke a device.
const adult = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };
const teenBirth = `${thisYear - 16}-01-15`;
const teen = { id: nationalId('310104', teenBirth, '046'), name: 'Li Na', birth: teenBirth, photo: 'img62.jpg' };
const suspendee = { id: nationalId('440524', '1975-11-30', '012'), name: '张敏', birth: '1975-11-30', photo: 'img62.jpg' };
const twoPhones = { id: nationalId('110105', '1985-01-01', '019'), name: 'Zhao Lei', birth: '1985-01-01', photo: 'img62.jpg' };

let temp, server, issuer;
const citizens = {};
const platforms = {};
const configs = {};
let pkjwtKey; // the private_key_jwt platform's signing key (CryptoKey)

before(async () => {
  temp = await initDataDir('oidc');
  await importRegistry(temp, [adult, teen, suspendee, twoPhones]);
  const photos = await preparePhotos(temp.dir);

  // Platforms: two sectors (hosts 127.0.0.1 and localhost, both loopback
  // http) and a private_key_jwt one with a sector of its own.
  platforms.shop = await addPlatform(temp.data, temp.dir, {
    name: 'Test Shop', redirectUris: ['http://127.0.0.1:8401/callback'], claims: 'realname_verified,age_over_18',
  });
  platforms.social = await addPlatform(temp.data, temp.dir, {
    name: 'Test Social', redirectUris: ['http://localhost:8402/cb'], claims: 'realname_verified,age_over_18',
  });
  // On the shop's host: a mini-program of its own, and one the operator
  // registers into the shop's sector.
  platforms.neighbour = await addPlatform(temp.data, temp.dir, {
    name: 'Test Neighbour', redirectUris: ['http://127.0.0.1:8401/mini/cb'], claims: 'realname_verified',
  });
  platforms.twin = await addPlatform(temp.data, temp.dir, {
    name: 'Test Twin', redirectUris: ['http://127.0.0.1:8404/cb'], claims: 'realname_verified',
    sectorOf: platforms.shop.client_id, purpose: 'Age check before delivery',
  });
  platforms.parallel = await addPlatform(temp.data, temp.dir, {
    name: 'Test Parallel', redirectUris: ['http://127.0.0.1:8405/cb'], claims: 'realname_verified',
    refreshReuse: 2,
  });
  platforms.paused = await addPlatform(temp.data, temp.dir, {
    name: 'Test Paused', redirectUris: ['http://127.0.0.1:8406/cb'], claims: 'realname_verified',
  });
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  pkjwtKey = pair.privateKey;
  const publicJwk = await webcrypto.subtle.exportKey('jwk', pair.publicKey);
  platforms.transit = await addPlatform(temp.data, temp.dir, {
    name: 'Test Transit', redirectUris: ['http://127.0.0.1:8403/cb'], claims: 'realname_verified',
    authMethod: 'private_key_jwt', sectorId: 'transit.test',
    jwks: { keys: [{ ...publicJwk, kid: 'transit-1', alg: 'ES256', use: 'sig', key_ops: undefined, ext: undefined }] },
  });
  assert.equal(platforms.transit.client_secret, undefined, 'a private_key_jwt platform has no secret');

  server = await startServer(temp.data);
  issuer = server.url;
  citizens.adult = await enrollCitizen(issuer, path.join(temp.dir, 'adult.json'), adult, photos);
  citizens.teen = await enrollCitizen(issuer, path.join(temp.dir, 'teen.json'), teen, photos);
  citizens.suspendee = await enrollCitizen(issuer, path.join(temp.dir, 'suspendee.json'), suspendee, photos);
  citizens.phone1 = await enrollCitizen(issuer, path.join(temp.dir, 'phone1.json'), twoPhones, photos);
  citizens.phone2 = await enrollCitizen(issuer, path.join(temp.dir, 'phone2.json'), twoPhones, photos);
  assert.equal(citizens.phone2.web_number, citizens.phone1.web_number);

  configs.shop = await discover(issuer, platforms.shop);
  configs.social = await discover(issuer, platforms.social);
  configs.neighbour = await discover(issuer, platforms.neighbour);
  configs.twin = await discover(issuer, platforms.twin);
  configs.parallel = await discover(issuer, platforms.parallel);
  configs.paused = await discover(issuer, platforms.paused);
  configs.transit = await discover(issuer, platforms.transit, client.PrivateKeyJwt({ key: pkjwtKey, kid: 'transit-1' }));
});

after(async () => {
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, `cyberid serve exits 0 on SIGTERM:\n${server.logs.slice(-20).join('\n')}`);
  }
  if (temp) await temp.cleanup();
});

// ---- helpers ----

const basic = basicAuth;

/** Opens the login page for a platform (plain fetch): resolves the checks,
 * the page, its user code (as shown and as typed) and login id. */
async function openLogin(platform, config, scope = SCOPE, extra = {}) {
  const checks = await loginChecks();
  const url = authorizationUrl(config, platform, checks, scope, extra);
  const response = await fetch(url, { redirect: 'manual' });
  const html = await response.text();
  assert.equal(response.status, 200, `GET /authorize: ${response.status} ${response.headers.get('location') ?? ''} ${html}`);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  const shown = shownUserCode(html);
  const loginId = pageLoginId(html);
  return { ...checks, html, shown, userCode: shown.replace('-', ''), loginId, platform, config };
}

/** A whole login: page, app approval (or flags), the page's poll until
 * decided. Resolves the login with `decided` (the status answer). */
async function login(platform, config, wallet, { scope = SCOPE, flags = ['--approve'] } = {}) {
  const page = await openLogin(platform, config, scope);
  const pending = await pollOnce(issuer, page.loginId);
  assert.equal(pending.status, 200);
  assert.equal(pending.body.status, 'pending');
  assert.equal(pending.body.redirect_to, undefined, 'no redirect_to while pending');
  const decision = await appLogin(wallet, page.shown, ...flags);
  assert.equal(decision.code, 0, decision.stderr);
  const decided = await pollDecided(issuer, page.loginId);
  return { ...page, decided, appAnswer: JSON.parse(decision.stdout) };
}

/** login + the code exchange by openid-client (ID token validated). */
async function loginAndExchange(platform, config, wallet, options) {
  const done = await login(platform, config, wallet, options);
  assert.equal(done.decided.status, 'approved', JSON.stringify(done.decided));
  const tokens = await client.authorizationCodeGrant(config, new URL(done.decided.redirect_to), {
    pkceCodeVerifier: done.verifier, expectedState: done.state, expectedNonce: done.nonce, idTokenExpected: true,
  });
  return { ...done, tokens, claims: tokens.claims() };
}

/** A form POST to a back-channel endpoint; resolves {status, body, headers}. */
async function post(endpoint, form, authorization) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authorization) headers.authorization = authorization;
  const response = await fetch(`${issuer}${endpoint}`, { method: 'POST', headers, body: new URLSearchParams(form) });
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* checked by the caller */ }
  return { status: response.status, body, text, headers: response.headers };
}

/** Asserts an OAuth error answer: status, JSON {error, error_description}. */
function expectOAuthError(answer, status, code) {
  assert.equal(answer.status, status, `expected ${status} ${code}, got ${answer.status} ${answer.text}`);
  assert.ok(answer.body, `not JSON: ${answer.text}`);
  assert.equal(answer.body.error, code, answer.text);
  assert.equal(typeof answer.body.error_description, 'string');
}

/** The code exchange by hand (client_secret_basic). */
function tokenByHand(done, code, { verifier = done.verifier, secret } = {}) {
  return post('/token', {
    grant_type: 'authorization_code', code, redirect_uri: done.platform.redirectUri, code_verifier: verifier,
  }, basic(done.platform, secret));
}

async function introspect(platform, token) {
  const answer = await post('/introspect', { token }, basic(platform));
  assert.equal(answer.status, 200, answer.text);
  return answer.body;
}

async function userinfoStatus(accessToken) {
  const response = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  const text = await response.text();
  return { status: response.status, text, wwwAuthenticate: response.headers.get('www-authenticate') ?? '' };
}

/** Asserts a userinfo refusal: 401 with RFC 6750 invalid_token. */
async function expectUserinfoRefused(accessToken) {
  const answer = await userinfoStatus(accessToken);
  assert.equal(answer.status, 401, answer.text);
  assert.match(answer.wwwAuthenticate, /^Bearer\b.*error="invalid_token"/, answer.wwwAuthenticate);
}

/** The error an openid-client call rejects with: {status, error}. */
async function clientError(promise) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof client.ResponseBodyError) return { status: error.status, error: error.error, cause: error };
    if (error instanceof client.WWWAuthenticateChallengeError) {
      const body = await error.response.json().catch(() => ({}));
      return { status: error.status, error: body.error, challenges: error.cause, cause: error };
    }
    if (error instanceof client.AuthorizationResponseError) return { status: null, error: error.error, cause: error };
    throw error;
  }
  assert.fail('the call was expected to fail');
}

/** A device token for this test's service (lib/oidc.mjs). */
const deviceToken = (...args) => deviceTokenFor(issuer, ...args);

/** POST /v1/login/{code}/approve with a device token built here. */
async function approveByHand(page, key, certificatePem, release) {
  const requestPath = `/v1/login/${page.userCode}/approve`;
  const token = deviceToken(key, certificatePem, 'POST', requestPath, { user_code: page.userCode, release });
  const response = await fetch(`${issuer}${requestPath}`, {
    method: 'POST', headers: { authorization: `Device ${token}`, 'content-type': 'application/json' }, body: '{}',
  });
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* checked by the caller */ }
  return { status: response.status, body, text, headers: response.headers };
}

async function walletKey(citizen) {
  return createPrivateKey(JSON.parse(await readFile(citizen.wallet, 'utf8')).private_key);
}

/** Runs SQL on the service's database and returns the number of rows it
 * changed: how these tests move a login or a code past its lifetime
 * without waiting for it. */
const sqlChanges = (statement) => execute(temp.data, statement);
const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---- discovery and the happy path ----

test('discovery names the endpoints, ES256, pairwise subjects, S256 and both client auth methods', async () => {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const meta = configs.shop.serverMetadata();
  assert.equal(meta.issuer, issuer);
  assert.equal(meta.authorization_endpoint, `${issuer}/authorize`);
  assert.equal(meta.token_endpoint, `${issuer}/token`);
  assert.equal(meta.userinfo_endpoint, `${issuer}/userinfo`);
  assert.equal(meta.jwks_uri, `${issuer}/jwks.json`);
  assert.equal(meta.introspection_endpoint, `${issuer}/introspect`);
  assert.equal(meta.revocation_endpoint, `${issuer}/revoke`);
  assert.equal(meta.end_session_endpoint, `${issuer}/logout`);
  assert.deepEqual(meta.id_token_signing_alg_values_supported, ['ES256']);
  assert.deepEqual(meta.subject_types_supported, ['pairwise']);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  assert.ok(meta.response_types_supported.includes('code'));
  for (const method of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) {
    assert.ok(meta.token_endpoint_auth_methods_supported.includes(method), method);
    assert.ok(meta.introspection_endpoint_auth_methods_supported.includes(method), method);
    assert.ok(meta.revocation_endpoint_auth_methods_supported.includes(method), method);
  }
  // Every algorithm a client assertion may use is listed.
  assert.deepEqual(meta.token_endpoint_auth_signing_alg_values_supported, ['ES256', 'RS256', 'PS256']);
  // RFC 8414: the same metadata where OAuth clients look.
  const rfc8414 = await fetch(`${issuer}/.well-known/oauth-authorization-server`);
  assert.equal(rfc8414.status, 200);
  assert.deepEqual(await rfc8414.json(), await (await fetch(`${issuer}/.well-known/openid-configuration`)).json());
  assert.ok(!meta.token_endpoint_auth_methods_supported.includes('none'), 'no public clients');
  for (const grant of ['authorization_code', 'refresh_token']) assert.ok(meta.grant_types_supported.includes(grant), grant);
  for (const scope of ['openid', 'realname_verified', 'age_over_18']) assert.ok(meta.scopes_supported.includes(scope), scope);
  assert.equal(meta.authorization_response_iss_parameter_supported, true, 'RFC 9207: iss in the redirect');

  const jwks = await (await fetch(`${issuer}/jwks.json`)).json();
  assert.ok(jwks.keys.length >= 1);
  for (const key of jwks.keys) {
    assert.equal(key.kty, 'EC');
    assert.equal(key.crv, 'P-256');
    assert.equal(key.alg, 'ES256');
    assert.equal(key.use, 'sig');
    assert.equal(typeof key.kid, 'string');
    assert.equal(key.d, undefined, 'no private part');
  }
});

test('openid-client logs the adult in: page, app approval, code exchange, userinfo, refresh, introspection, revocation', async () => {
  const page = await openLogin(platforms.shop, configs.shop);
  assert.ok(page.html.includes('Test Shop'), 'the page names the platform');
  assert.match(page.html, /<svg\b/, 'the page holds the QR code as inline SVG');
  assert.ok(!/<(script|link|img)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i.test(page.html), 'no external assets');

  // The app sees who asks for what.
  const shownToApp = await appLogin(citizens.adult.wallet, page.shown, '--approve');
  assert.equal(shownToApp.code, 0, shownToApp.stderr);
  assert.match(shownToApp.stderr, /Log in to: Test Shop/);
  const appAnswer = JSON.parse(shownToApp.stdout);
  assert.equal(appAnswer.status, 'approved');
  assert.equal(appAnswer.platform.client_id, platforms.shop.client_id);
  assert.deepEqual([...appAnswer.released].sort(), ['age_over_18', 'realname_verified']);

  const decided = await pollDecided(issuer, page.loginId);
  assert.equal(decided.status, 'approved');
  const params = redirectParams(decided.redirect_to, platforms.shop.redirectUri);
  assert.equal(params.get('state'), page.state);
  assert.equal(params.get('iss'), issuer);
  assert.ok(params.get('code'));

  const tokens = await client.authorizationCodeGrant(configs.shop, new URL(decided.redirect_to), {
    pkceCodeVerifier: page.verifier, expectedState: page.state, expectedNonce: page.nonce, idTokenExpected: true,
  });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(typeof tokens.access_token, 'string');
  assert.equal(typeof tokens.refresh_token, 'string', 'a refresh token is issued');
  const idToken = decodeJwt(tokens.id_token);
  assert.equal(idToken.header.alg, 'ES256');
  const claims = tokens.claims();
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, platforms.shop.client_id);
  assert.match(claims.sub, SUB);
  assert.notEqual(claims.sub.toUpperCase(), citizens.adult.web_number);
  assert.ok(!claims.sub.toUpperCase().includes(citizens.adult.web_number));
  assert.equal(claims.nonce, page.nonce);
  assert.equal(claims.acr, 'cyberid:face');
  assert.equal(claims.realname_verified, true);
  assert.equal(claims.age_over_18, true);
  for (const absent of ['name', 'national_id', 'birth_year', 'birthdate', 'web_number']) {
    assert.equal(claims[absent], undefined, `${absent} is not in the ID token`);
  }
  for (const [name, value] of Object.entries(claims)) {
    assert.ok(!String(value).toUpperCase().includes(citizens.adult.web_number), `${name} does not carry the web number`);
  }

  const userinfo = await client.fetchUserInfo(configs.shop, tokens.access_token, claims.sub);
  assert.equal(userinfo.sub, claims.sub);
  assert.equal(userinfo.realname_verified, true);
  assert.equal(userinfo.age_over_18, true);
  assert.equal(userinfo.name, undefined);
  assert.equal(userinfo.national_id, undefined);

  const active = await client.tokenIntrospection(configs.shop, tokens.access_token);
  assert.equal(active.active, true);
  assert.equal(active.sub, claims.sub);
  assert.equal(active.client_id, platforms.shop.client_id);
  assert.ok(active.exp > Date.now() / 1000);
  // Another platform learns nothing from this platform's token.
  assert.deepEqual(await client.tokenIntrospection(configs.social, tokens.access_token), { active: false });

  // Refresh: a new pair; the old refresh token is then spent.
  const refreshed = await client.refreshTokenGrant(configs.shop, tokens.refresh_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);
  assert.equal(typeof refreshed.refresh_token, 'string');
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
  if (refreshed.id_token) assert.equal(refreshed.claims().sub, claims.sub);
  const fresh = await client.fetchUserInfo(configs.shop, refreshed.access_token, claims.sub);
  assert.equal(fresh.sub, claims.sub);

  // Revocation (RFC 7009) of the new access token: inactive, userinfo 401.
  await client.tokenRevocation(configs.shop, refreshed.access_token);
  assert.equal((await client.tokenIntrospection(configs.shop, refreshed.access_token)).active, false);
  await expectUserinfoRefused(refreshed.access_token);
  assert.equal((await clientError(client.fetchUserInfo(configs.shop, refreshed.access_token, claims.sub))).status, 401);

  // Reusing the spent refresh token is refused and revokes the grant: the
  // rotated refresh token is refused too.
  const reused = await clientError(client.refreshTokenGrant(configs.shop, tokens.refresh_token));
  assert.deepEqual([reused.status, reused.error], [400, 'invalid_grant']);
  const afterReuse = await clientError(client.refreshTokenGrant(configs.shop, refreshed.refresh_token));
  assert.deepEqual([afterReuse.status, afterReuse.error], [400, 'invalid_grant']);
  assert.equal((await introspect(platforms.shop, refreshed.refresh_token)).active, false);
});

test('the 16-year-old gets age_over_18 false; a partial release leaves the other claim out', async () => {
  const teenLogin = await loginAndExchange(platforms.shop, configs.shop, citizens.teen.wallet);
  assert.equal(teenLogin.claims.realname_verified, true);
  assert.equal(teenLogin.claims.age_over_18, false);
  const info = await client.fetchUserInfo(configs.shop, teenLogin.tokens.access_token, teenLogin.claims.sub);
  assert.equal(info.age_over_18, false);

  const partial = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet,
    { flags: ['--approve', '--release', 'realname_verified'] });
  assert.deepEqual(partial.appAnswer.released, ['realname_verified']);
  assert.equal(partial.claims.realname_verified, true);
  assert.equal(partial.claims.age_over_18, undefined, 'a claim the citizen did not release is absent');
  const partialInfo = await client.fetchUserInfo(configs.shop, partial.tokens.access_token, partial.claims.sub);
  assert.equal(partialInfo.age_over_18, undefined);
});

test('pairwise: two platforms get different subs for one citizen, one platform the same sub each time', async () => {
  const shop1 = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const shop2 = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const social = await loginAndExchange(platforms.social, configs.social, citizens.adult.wallet);
  const teenShop = await loginAndExchange(platforms.shop, configs.shop, citizens.teen.wallet);
  for (const sub of [shop1.claims.sub, social.claims.sub, teenShop.claims.sub]) {
    assert.match(sub, SUB);
    assert.ok(!sub.toUpperCase().includes(citizens.adult.web_number));
  }
  assert.equal(shop2.claims.sub, shop1.claims.sub, 'the same platform sees the same sub at each login');
  assert.notEqual(social.claims.sub, shop1.claims.sub, 'another sector sees another sub');
  assert.notEqual(teenShop.claims.sub, shop1.claims.sub, 'another citizen has another sub');
  assert.equal(social.claims.aud, platforms.social.client_id);
  // The same host is not the same sector: each platform its own, unless
  // the operator registered it into another's (--sector-of).
  assert.equal(platforms.neighbour.sector_identifier, `client:${platforms.neighbour.client_id}`);
  const scope = { scope: 'openid realname_verified' };
  const neighbour = await loginAndExchange(platforms.neighbour, configs.neighbour, citizens.adult.wallet, scope);
  assert.notEqual(neighbour.claims.sub, shop1.claims.sub, 'another platform on the same host, another sub');
  const twin = await loginAndExchange(platforms.twin, configs.twin, citizens.adult.wallet, scope);
  assert.equal(platforms.twin.sector_identifier, platforms.shop.sector_identifier);
  assert.equal(twin.claims.sub, shop1.claims.sub, 'registered into the shop\'s sector, the shop\'s sub');
});

test('the purpose shown is the one the platform registered, never one the login request carries', async () => {
  // An attacker's login request (RFC 10027's consent phishing) says why in
  // its own words: neither the page nor the app shows them.
  const phishing = 'Confirm to receive your pension';
  const page = await openLogin(platforms.twin, configs.twin, 'openid realname_verified', { purpose: phishing });
  assert.ok(!page.html.includes(phishing), 'the page shows no purpose from the request');
  assert.ok(page.html.includes('Age check before delivery'), 'the page shows the registered purpose');
  const shown = await appLogin(citizens.adult.wallet, page.shown, '--deny');
  assert.equal(shown.code, 0, shown.stderr);
  assert.ok(!shown.stderr.includes(phishing), shown.stderr);
  assert.match(shown.stderr, /Purpose \(as the platform registered it\): Age check before delivery/);
  // And what tells the citizen their own login from a sent one: where the
  // browser returns, when and from which network (not the address) the
  // page was opened.
  assert.match(shown.stderr, /your browser goes back to: 127\.0\.0\.1\n/);
  assert.match(shown.stderr, /The login page was opened at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d from 127\.0\.0\.0\/24/);
  // A platform registered without one: no purpose at all.
  const plain = await openLogin(platforms.neighbour, configs.neighbour, 'openid realname_verified', { purpose: phishing });
  assert.ok(!plain.html.includes(phishing));
  const denied = await appLogin(citizens.adult.wallet, plain.shown, '--deny');
  assert.doesNotMatch(denied.stderr, /Purpose/);
});

test('the app approves from the login URL the QR code holds, as well as from the code', async () => {
  const page = await openLogin(platforms.shop, configs.shop);
  const approved = await appLogin(citizens.adult.wallet, `${issuer}/v1/login/${page.shown}`, '--approve');
  assert.equal(approved.code, 0, approved.stderr);
  assert.equal(JSON.parse(approved.stdout).status, 'approved');
  assert.equal((await pollDecided(issuer, page.loginId)).status, 'approved');
});

test('a private_key_jwt platform authenticates with its key (openid-client PrivateKeyJwt); another key is refused', async () => {
  const done = await loginAndExchange(platforms.transit, configs.transit, citizens.adult.wallet,
    { scope: 'openid realname_verified' });
  assert.match(done.claims.sub, SUB);
  assert.equal(done.claims.realname_verified, true);
  const shop = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  assert.notEqual(done.claims.sub, shop.claims.sub, 'its own sector (--sector-id) gives its own sub');
  const info = await client.tokenIntrospection(configs.transit, done.tokens.access_token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, platforms.transit.client_id);

  // The same platform with a key not in its JWKS: 401 invalid_client.
  const other = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const impostor = await discover(issuer, platforms.transit, client.PrivateKeyJwt({ key: other.privateKey, kid: 'transit-1' }));
  const refused = await clientError(client.tokenIntrospection(impostor, done.tokens.access_token));
  assert.deepEqual([refused.status, refused.error], [401, 'invalid_client']);
  // A platform registered for private_key_jwt cannot use a secret.
  const asBasic = await post('/introspect', { token: done.tokens.access_token },
    basic(platforms.transit, 'not-a-secret'));
  expectOAuthError(asBasic, 401, 'invalid_client');
});

// ---- refusals ----

test('a redirect URI that is not registered gets an error page (400), never a redirect', async () => {
  const checks = await loginChecks();
  for (const [label, change] of [
    ['unregistered redirect_uri', { redirect_uri: 'http://127.0.0.1:8401/elsewhere' }],
    ['another host', { redirect_uri: 'http://evil.example/callback' }],
    ['unknown client_id', { client_id: 'no-such-client' }],
  ]) {
    const url = authorizationUrl(configs.shop, platforms.shop, checks, SCOPE, change);
    const response = await fetch(url, { redirect: 'manual' });
    const body = await response.text();
    assert.equal(response.status, 400, `${label}: ${response.status} ${body}`);
    assert.equal(response.headers.get('location'), null, `${label}: no redirect`);
    assert.ok(!/http-equiv\s*=\s*["']?refresh/i.test(body), `${label}: no refresh redirect`);
    assert.ok(!body.includes('evil.example'), `${label}: the page does not link to the unregistered URI`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/, `${label}: an error page`);
  }
});

test('missing PKCE (or plain PKCE) redirects with error=invalid_request', async () => {
  for (const [label, drop] of [['no code_challenge', ['code_challenge', 'code_challenge_method']],
    ['plain method', []]]) {
    const checks = await loginChecks();
    const url = authorizationUrl(configs.shop, platforms.shop, checks, SCOPE);
    for (const name of drop) url.searchParams.delete(name);
    if (label === 'plain method') {
      url.searchParams.set('code_challenge', checks.verifier);
      url.searchParams.set('code_challenge_method', 'plain');
    }
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 302, `${label}: ${response.status} ${await response.text()}`);
    const params = redirectParams(response.headers.get('location'), platforms.shop.redirectUri);
    assert.equal(params.get('error'), 'invalid_request', label);
    assert.equal(params.get('state'), checks.state);
    assert.equal(params.get('iss'), issuer);
    assert.equal(params.get('code'), null);
  }
});

test('a claim the platform is not registered for redirects with error=invalid_scope', async () => {
  const checks = await loginChecks();
  const url = authorizationUrl(configs.shop, platforms.shop, checks, 'openid realname_verified birth_year');
  const response = await fetch(url, { redirect: 'manual' });
  assert.equal(response.status, 302, `${response.status} ${await response.text()}`);
  const params = redirectParams(response.headers.get('location'), platforms.shop.redirectUri);
  assert.equal(params.get('error'), 'invalid_scope');
  assert.equal(params.get('state'), checks.state);
  assert.equal(params.get('iss'), issuer);
  // Through openid-client: the authorization response error.
  const rejected = await clientError(client.authorizationCodeGrant(configs.shop, new URL(response.headers.get('location')),
    { pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce }));
  assert.equal(rejected.error, 'invalid_scope');
});

test('unknown scope values are ignored; a refresh asking beyond the grant gets the intersection, and its scope says so', async () => {
  // OIDC Core §3.1.2.1: profile, email and offline_access are not this
  // service's, and are ignored rather than refused.
  const done = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet,
    { scope: 'openid profile email offline_access realname_verified' });
  assert.equal(done.claims.realname_verified, true);
  assert.equal(done.claims.age_over_18, undefined, 'only what the scope named');
  assert.equal(done.tokens.scope, 'openid realname_verified');
  // RFC 6749 §3.3, §6: mod_auth_openidc sends its whole configured scope on
  // every refresh. The grant held realname_verified only: that is issued,
  // never age_over_18, and the response's scope names what was.
  const wide = await client.refreshTokenGrant(configs.shop, done.tokens.refresh_token,
    { scope: 'openid profile email realname_verified age_over_18' });
  assert.equal(wide.scope, 'openid realname_verified');
  const info = await client.fetchUserInfo(configs.shop, wide.access_token, done.claims.sub);
  assert.equal(info.realname_verified, true);
  assert.equal(info.age_over_18, undefined, 'a refresh never widens the grant');
  // A scope naming nothing granted: openid only, and no claim at userinfo.
  const none = await client.refreshTokenGrant(configs.shop, wide.refresh_token, { scope: 'openid age_over_18' });
  assert.equal(none.scope, 'openid');
  const bare = await client.fetchUserInfo(configs.shop, none.access_token, done.claims.sub);
  assert.equal(bare.realname_verified, undefined);
  // The refresh token keeps the grant's claims.
  const back = await client.refreshTokenGrant(configs.shop, none.refresh_token);
  assert.equal(back.scope, 'openid realname_verified');
  // A scope with no token at all is still malformed.
  const empty = await clientError(client.refreshTokenGrant(configs.shop, back.refresh_token, { scope: ' ' }));
  assert.equal(empty.error, 'invalid_scope');
});

test('a wrong code_verifier is invalid_grant', async () => {
  const done = await login(platforms.shop, configs.shop, citizens.adult.wallet);
  const rejected = await clientError(client.authorizationCodeGrant(configs.shop, new URL(done.decided.redirect_to), {
    pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: done.state, expectedNonce: done.nonce,
  }));
  assert.deepEqual([rejected.status, rejected.error], [400, 'invalid_grant']);
});

test('a reused code is invalid_grant and revokes what the first exchange issued', async () => {
  const done = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const code = new URL(done.decided.redirect_to).searchParams.get('code');
  assert.equal((await introspect(platforms.shop, done.tokens.access_token)).active, true);
  expectOAuthError(await tokenByHand(done, code), 400, 'invalid_grant');
  assert.equal((await introspect(platforms.shop, done.tokens.access_token)).active, false);
  await expectUserinfoRefused(done.tokens.access_token);
  const refresh = await clientError(client.refreshTokenGrant(configs.shop, done.tokens.refresh_token));
  assert.deepEqual([refresh.status, refresh.error], [400, 'invalid_grant']);
});

test('an expired code is invalid_grant; an expired login says so and sends access_denied', async () => {
  // The code lives 60 s (OIDC_CODE_LIFETIME) and a pending login 300 s:
  // rather than wait, the test moves their expiry into the past in the
  // service's database (the server reads it at each request).
  const done = await login(platforms.shop, configs.shop, citizens.adult.wallet);
  assert.equal(done.decided.status, 'approved');
  assert.equal(await sqlChanges(`UPDATE oidc_login SET code_expires_at = ${nowSeconds() - 1}
    WHERE state = ${sqlText(done.state)}`), 1);
  const code = new URL(done.decided.redirect_to).searchParams.get('code');
  expectOAuthError(await tokenByHand(done, code), 400, 'invalid_grant');

  const page = await openLogin(platforms.shop, configs.shop);
  assert.equal(await sqlChanges(`UPDATE oidc_login SET expires_at = ${nowSeconds() - 1}
    WHERE state = ${sqlText(page.state)}`), 1);
  const expired = await pollOnce(issuer, page.loginId);
  assert.equal(expired.status, 200);
  assert.equal(expired.body.status, 'expired');
  const params = redirectParams(expired.body.redirect_to, platforms.shop.redirectUri);
  assert.equal(params.get('error'), 'access_denied');
  assert.equal(params.get('state'), page.state);
  assert.equal(params.get('iss'), issuer);
  assert.equal(params.get('code'), null);
  const late = await appLogin(citizens.adult.wallet, page.shown, '--approve');
  assert.equal(late.code, 1);
  assert.match(late.stderr, /not_found: .*\(HTTP 404\)/);
});

test('a wrong client secret is 401 invalid_client with WWW-Authenticate, and leaves the code usable', async () => {
  const done = await login(platforms.shop, configs.shop, citizens.adult.wallet);
  const code = new URL(done.decided.redirect_to).searchParams.get('code');
  const wrong = await tokenByHand(done, code, { secret: 'wrong-secret' });
  expectOAuthError(wrong, 401, 'invalid_client');
  assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic\b/i);
  const unknown = await post('/token', { grant_type: 'authorization_code', code },
    `Basic ${Buffer.from('nobody:nothing').toString('base64')}`);
  expectOAuthError(unknown, 401, 'invalid_client');
  assert.match(unknown.headers.get('www-authenticate') ?? '', /^Basic\b/i);
  const none = await post('/token', { grant_type: 'authorization_code', code, client_id: platforms.shop.client_id });
  expectOAuthError(none, 401, 'invalid_client');
  // Introspection and revocation are platform-authenticated too.
  expectOAuthError(await post('/introspect', { token: 'x' }, basic(platforms.shop, 'wrong-secret')), 401, 'invalid_client');
  expectOAuthError(await post('/revoke', { token: 'x' }, basic(platforms.shop, 'wrong-secret')), 401, 'invalid_client');
  // Through openid-client: a 401 with the challenge.
  const wrongConfig = await discover(issuer, platforms.shop, client.ClientSecretBasic('wrong-secret'));
  const challenged = await clientError(client.authorizationCodeGrant(wrongConfig, new URL(done.decided.redirect_to), {
    pkceCodeVerifier: done.verifier, expectedState: done.state, expectedNonce: done.nonce,
  }));
  assert.deepEqual([challenged.status, challenged.error], [401, 'invalid_client']);
  // None of the refused attempts spent the code.
  const tokens = await client.authorizationCodeGrant(configs.shop, new URL(done.decided.redirect_to), {
    pkceCodeVerifier: done.verifier, expectedState: done.state, expectedNonce: done.nonce, idTokenExpected: true,
  });
  assert.match(tokens.claims().sub, SUB);
  // Another platform's good credentials cannot redeem this platform's code.
  const otherPlatform = await post('/token', { grant_type: 'authorization_code', code,
    redirect_uri: platforms.shop.redirectUri, code_verifier: done.verifier }, basic(platforms.social));
  expectOAuthError(otherPlatform, 400, 'invalid_grant');
});

test('client_secret_post: openid-client with the secret in the form logs in, refreshes, introspects; a wrong one is invalid_client', async () => {
  const postConfig = await discover(issuer, platforms.social, client.ClientSecretPost(platforms.social.client_secret));
  const done = await login(platforms.social, postConfig, citizens.adult.wallet);
  const tokens = await client.authorizationCodeGrant(postConfig, new URL(done.decided.redirect_to), {
    pkceCodeVerifier: done.verifier, expectedState: done.state, expectedNonce: done.nonce, idTokenExpected: true,
  });
  assert.match(tokens.claims().sub, SUB);
  const refreshed = await client.refreshTokenGrant(postConfig, tokens.refresh_token);
  assert.equal(typeof refreshed.access_token, 'string');
  assert.equal((await client.tokenIntrospection(postConfig, refreshed.access_token)).active, true);
  // A wrong secret in the form; a secret without its client id; the secret
  // twice (Basic and the form): refused, and the code is not spent by them.
  const again = await login(platforms.social, postConfig, citizens.adult.wallet);
  const code = new URL(again.decided.redirect_to).searchParams.get('code');
  const form = { grant_type: 'authorization_code', code, redirect_uri: platforms.social.redirectUri,
    code_verifier: again.verifier };
  expectOAuthError(await post('/token', { ...form, client_id: platforms.social.client_id, client_secret: 'wrong' }),
    401, 'invalid_client');
  expectOAuthError(await post('/token', { ...form, client_secret: platforms.social.client_secret }), 400, 'invalid_request');
  expectOAuthError(await post('/token', { ...form, client_id: platforms.social.client_id,
    client_secret: platforms.social.client_secret }, basic(platforms.social)), 400, 'invalid_request');
  // A private_key_jwt platform cannot use a secret in the form.
  expectOAuthError(await post('/token', { ...form, client_id: platforms.transit.client_id, client_secret: 'x' }),
    401, 'invalid_client');
  const good = await post('/token', { ...form, client_id: platforms.social.client_id,
    client_secret: platforms.social.client_secret });
  assert.equal(good.status, 200, good.text);
  assert.equal(typeof good.body.access_token, 'string');
});

test('openid-client with its defaults (docs/quickstart.md: the secret alone, hence client_secret_post) logs in, refreshes, introspects, revokes', async () => {
  // What a platform writes when it follows the quickstart: no client
  // authentication named. The requests it sends are recorded to show
  // which method openid-client picked.
  const sent = [];
  const config = await client.discovery(new URL(issuer), platforms.social.client_id, platforms.social.client_secret,
    undefined, {
      execute: [client.allowInsecureRequests],
      [client.customFetch]: (url, options) => {
        sent.push({ url: String(url), headers: new Headers(options.headers), body: String(options.body ?? '') });
        return fetch(url, options);
      },
    });
  const done = await loginAndExchange(platforms.social, config, citizens.adult.wallet);
  assert.match(done.claims.sub, SUB);
  assert.equal(done.claims.realname_verified, true);
  const info = await client.fetchUserInfo(config, done.tokens.access_token, done.claims.sub);
  assert.equal(info.sub, done.claims.sub);
  const refreshed = await client.refreshTokenGrant(config, done.tokens.refresh_token);
  assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, true);
  await client.tokenRevocation(config, refreshed.refresh_token);
  assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, false, 'the grant is revoked');
  // Each back-channel request carried the secret in the form, never Basic.
  const backChannel = sent.filter(({ url }) => /\/(token|introspect|revoke)$/.test(url));
  assert.equal(backChannel.length, 5, sent.map(({ url }) => url).join(' '));
  for (const request of backChannel) {
    assert.equal(request.headers.get('authorization'), null, request.url);
    const form = new URLSearchParams(request.body);
    assert.equal(form.get('client_id'), platforms.social.client_id, request.url);
    assert.equal(form.get('client_secret'), platforms.social.client_secret, request.url);
  }
});

test('RP-initiated logout (openid-client buildEndSessionUrl) ends the platform\'s grant and returns with state', async () => {
  const atShop = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const atSocial = await loginAndExchange(platforms.social, configs.social, citizens.adult.wallet);
  const works = async (config, done) => ({
    userinfo: await client.fetchUserInfo(config, done.tokens.access_token, done.claims.sub).then(() => true, () => false),
    refresh: await client.refreshTokenGrant(config, done.tokens.refresh_token).then(() => true, () => false),
  });
  // Refusals first, each a page (400), never a redirect.
  const refused = async (url) => {
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 400, url.toString());
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(response.headers.get('location'), null);
  };
  await refused(`${issuer}/logout`);
  await refused(client.buildEndSessionUrl(configs.shop, { id_token_hint: 'not.a.token' }));
  await refused(client.buildEndSessionUrl(configs.shop, { id_token_hint: atShop.tokens.id_token,
    post_logout_redirect_uri: 'https://attacker.example/' }));
  // A hint of the shop's login with the social platform's client_id.
  await refused(client.buildEndSessionUrl(configs.social, { id_token_hint: atShop.tokens.id_token }));
  assert.deepEqual(await works(configs.shop, atShop), { userinfo: true, refresh: true }, 'refusals change nothing');

  const url = client.buildEndSessionUrl(configs.shop, { id_token_hint: atShop.tokens.id_token,
    post_logout_redirect_uri: platforms.shop.redirectUri, state: 'after-logout' });
  const response = await fetch(url, { redirect: 'manual' });
  assert.equal(response.status, 302);
  const back = new URL(response.headers.get('location'));
  assert.equal(`${back.origin}${back.pathname}`, platforms.shop.redirectUri);
  assert.equal(back.searchParams.get('state'), 'after-logout');
  // Every token the shop held of this citizen is revoked; the other
  // platform's are not.
  assert.deepEqual(await works(configs.shop, atShop), { userinfo: false, refresh: false });
  assert.deepEqual(await works(configs.social, atSocial), { userinfo: true, refresh: true });
  const ended = (await inquiry(temp.data, 'grant.revoke'))
    .filter((e) => e.subject === citizens.adult.web_number && e.details.reason === 'logout');
  assert.equal(ended.length, 1);
  assert.equal(ended[0].actor, `platform:${platforms.shop.client_id}`);
  // By POST, without a redirect: a page saying so.
  const again = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const posted = await fetch(`${issuer}/logout`, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ id_token_hint: again.tokens.id_token }) });
  assert.equal(posted.status, 200);
  assert.match(await posted.text(), /logged out of Test Shop/);
  assert.deepEqual(await works(configs.shop, again), { userinfo: false, refresh: false });
});

test('parallel refreshes: within a platform\'s reuse interval both succeed; without one, or after it, a replay ends the grant', async () => {
  const refresh = (platform, token) => post('/token', { grant_type: 'refresh_token', refresh_token: token },
    basic(platform));
  assert.equal(platforms.parallel.refresh_reuse_seconds, 2);
  const scope = { scope: 'openid realname_verified' };
  // A platform with a 2 s interval: two refreshes at once with one token.
  const first = await loginAndExchange(platforms.parallel, configs.parallel, citizens.adult.wallet, scope);
  const both = await Promise.all([refresh(platforms.parallel, first.tokens.refresh_token),
    refresh(platforms.parallel, first.tokens.refresh_token)]);
  for (const answer of both) assert.equal(answer.status, 200, answer.text);
  assert.notEqual(both[0].body.refresh_token, both[1].body.refresh_token);
  // Each successor goes on by itself.
  for (const answer of both) assert.equal((await refresh(platforms.parallel, answer.body.refresh_token)).status, 200);
  // After the interval, the first token again is a replay: the grant ends.
  await new Promise((done) => setTimeout(done, 3100));
  expectOAuthError(await refresh(platforms.parallel, first.tokens.refresh_token), 400, 'invalid_grant');
  const info = await client.tokenIntrospection(configs.parallel, both[0].body.access_token);
  assert.equal(info.active, false, 'the whole grant is revoked');
  // A platform without one (the default): the second of two at once is a
  // replay, and ends the grant, the pair the first got included.
  const shop = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const raced = await Promise.all([refresh(platforms.shop, shop.tokens.refresh_token),
    refresh(platforms.shop, shop.tokens.refresh_token)]);
  assert.deepEqual(raced.map((a) => a.status).sort(), [200, 400]);
  const [won, lost] = raced[0].status === 200 ? raced : [raced[1], raced[0]];
  assert.match(lost.body.error_description, /already used; the grant is revoked/);
  assert.equal((await client.tokenIntrospection(configs.shop, won.body.access_token)).active, false);
  expectOAuthError(await refresh(platforms.shop, won.body.refresh_token), 400, 'invalid_grant');
});

test('a platform disabled while the service runs is refused at /token and /authorize; enabled again, it works', async () => {
  const refresh = (token) => post('/token', { grant_type: 'refresh_token', refresh_token: token },
    basic(platforms.paused));
  const scope = 'openid realname_verified';
  const live = await loginAndExchange(platforms.paused, configs.paused, citizens.adult.wallet, { scope });
  // The answer once it is as wanted: a serve keeps its platforms and
  // empties them on the notification each change sends when it commits
  // (store.h, store_config_cache_start), milliseconds after.
  const settled = async (ask, wanted) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const answer = await ask();
      if (wanted(answer) || Date.now() > deadline) return answer;
      await new Promise((done) => setTimeout(done, 20));
    }
  };
  const disabled = await run(['platform', 'disable', '--data', temp.data, platforms.paused.client_id]);
  assert.equal(disabled.code, 0, disabled.stderr);
  // Waited for at /authorize, which changes nothing: a refresh sent before
  // the notification has come would still be served, and would rotate the
  // token this test presents again below.
  const checks = await loginChecks();
  const page = await settled(
    () => fetch(authorizationUrl(configs.paused, platforms.paused, checks, scope), { redirect: 'manual' }),
    (a) => a.status === 400);
  assert.equal(page.status, 400, 'an error page, no login');
  assert.equal(page.headers.get('location'), null);
  expectOAuthError(await refresh(live.tokens.refresh_token), 401, 'invalid_client');
  const enabled = await run(['platform', 'enable', '--data', temp.data, platforms.paused.client_id]);
  assert.equal(enabled.code, 0, enabled.stderr);
  const served = await settled(() => refresh(live.tokens.refresh_token), (a) => a.status === 200);
  assert.equal(served.status, 200, served.text);
  const again = await loginAndExchange(platforms.paused, configs.paused, citizens.adult.wallet, { scope });
  assert.match(again.claims.sub, SUB);
});

test('the approval of a revoked device is refused 401; the other device still approves', async () => {
  const revoked = await app(['--wallet', citizens.phone1.wallet, 'revoke-device', citizens.phone2.serial]);
  assert.equal(revoked.code, 0, revoked.stderr);
  const page = await openLogin(platforms.shop, configs.shop);
  const refused = await appLogin(citizens.phone2.wallet, page.shown, '--approve');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /invalid_token: .*\(HTTP 401\)/);
  // The approval itself, signed by the revoked device's real key.
  const byHand = await approveByHand(page, await walletKey(citizens.phone2), citizens.phone2.certificate,
    ['realname_verified', 'age_over_18']);
  assert.equal(byHand.status, 401, byHand.text);
  assert.equal(byHand.body.error, 'invalid_token');
  assert.match(byHand.headers.get('www-authenticate') ?? '', /^Device\b/);
  assert.equal((await pollOnce(issuer, page.loginId)).body.status, 'pending');
  const approved = await appLogin(citizens.phone1.wallet, page.shown, '--approve');
  assert.equal(approved.code, 0, approved.stderr);
  assert.equal((await pollDecided(issuer, page.loginId)).status, 'approved');
});

test('a suspended identity cannot approve and its live tokens die for good; reinstating restores logins', async () => {
  const live = await loginAndExchange(platforms.shop, configs.shop, citizens.suspendee.wallet);
  assert.equal((await introspect(platforms.shop, live.tokens.access_token)).active, true);
  // A login approved before the suspension, its code not yet exchanged.
  const approved = await login(platforms.shop, configs.shop, citizens.suspendee.wallet);
  assert.equal(approved.decided.status, 'approved', JSON.stringify(approved.decided));
  // Another, for realname_verified alone: no claim of it is computed from
  // the registry record, so the exchange reads no record to find the
  // suspension by.
  const nameless = await login(platforms.shop, configs.shop, citizens.suspendee.wallet,
    { scope: 'openid realname_verified' });
  assert.equal(nameless.decided.status, 'approved', JSON.stringify(nameless.decided));

  const suspended = await run(['identity', 'suspend', '--data', temp.data, '--reason', 'court_order',
    '--legal-basis', 'Test court order 2024-17', citizens.suspendee.web_number,
    '--until', new Date(Date.now() + 7 * 86400e3).toISOString().slice(0, 10)]);
  assert.equal(suspended.code, 0, suspended.stderr + suspended.stdout);
  assert.deepEqual(await introspect(platforms.shop, live.tokens.access_token), { active: false });
  await expectUserinfoRefused(live.tokens.access_token);
  const refresh = await clientError(client.refreshTokenGrant(configs.shop, live.tokens.refresh_token));
  assert.deepEqual([refresh.status, refresh.error], [400, 'invalid_grant']);
  const exchange = await clientError(client.authorizationCodeGrant(configs.shop,
    new URL(approved.decided.redirect_to), { pkceCodeVerifier: approved.verifier,
      expectedState: approved.state, expectedNonce: approved.nonce, idTokenExpected: true }));
  assert.deepEqual([exchange.status, exchange.error], [400, 'invalid_grant']);
  assert.match(exchange.cause.error_description ?? '', /identity is not active/);
  const namelessExchange = await clientError(client.authorizationCodeGrant(configs.shop,
    new URL(nameless.decided.redirect_to), { pkceCodeVerifier: nameless.verifier,
      expectedState: nameless.state, expectedNonce: nameless.nonce, idTokenExpected: true }));
  assert.deepEqual([namelessExchange.status, namelessExchange.error], [400, 'invalid_grant']);
  assert.match(namelessExchange.cause.error_description ?? '', /identity is not active/);

  const page = await openLogin(platforms.shop, configs.shop);
  const refused = await appLogin(citizens.suspendee.wallet, page.shown, '--approve');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /invalid_token: .*\(HTTP 401\)/);
  const byHand = await approveByHand(page, await walletKey(citizens.suspendee), citizens.suspendee.certificate,
    ['realname_verified']);
  assert.equal(byHand.status, 401, byHand.text);
  assert.equal(byHand.body.error, 'invalid_token');
  assert.equal((await pollOnce(issuer, page.loginId)).body.status, 'pending');
  // Direct verification is refused as well.
  const assertion = await app(['--wallet', citizens.suspendee.wallet, 'assert', '--audience', platforms.shop.client_id,
    '--release', 'realname_verified']);
  assert.equal(assertion.code, 0, assertion.stderr);
  const verify = await fetch(`${issuer}/v1/verify`, { method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(platforms.shop) },
    body: JSON.stringify({ assertion: assertion.stdout.trim() }) });
  assert.equal(verify.status, 400, 'verify while suspended');
  assert.equal((await verify.json()).error, 'invalid_grant');

  const reinstated = await run(['identity', 'reinstate', '--data', temp.data, citizens.suspendee.web_number]);
  assert.equal(reinstated.code, 0, reinstated.stderr + reinstated.stdout);
  // The suspension ended the old tokens for good: reinstating does not revive them.
  assert.deepEqual(await introspect(platforms.shop, live.tokens.access_token), { active: false });
  await expectUserinfoRefused(live.tokens.access_token);
  const again = await loginAndExchange(platforms.shop, configs.shop, citizens.suspendee.wallet);
  assert.equal(again.claims.sub, live.claims.sub);
  assert.equal((await introspect(platforms.shop, again.tokens.access_token)).active, true);
});

test('an approval signed by another key, with the real certificate in x5c, is 401 invalid_token', async () => {
  const page = await openLogin(platforms.shop, configs.shop);
  const { privateKey: forger } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const forged = await approveByHand(page, forger, citizens.adult.certificate, ['realname_verified', 'age_over_18']);
  assert.equal(forged.status, 401, forged.text);
  assert.equal(forged.body.error, 'invalid_token');
  assert.match(forged.headers.get('www-authenticate') ?? '', /^Device\b/);
  assert.equal((await pollOnce(issuer, page.loginId)).body.status, 'pending');

  // The same request signed by the real device key: a release that is not
  // a subset of the asked claims is invalid_request, a subset approves.
  const realKey = await walletKey(citizens.adult);
  const notSubset = await approveByHand(page, realKey, citizens.adult.certificate, ['realname_verified', 'birth_year']);
  assert.equal(notSubset.status, 400, notSubset.text);
  assert.equal(notSubset.body.error, 'invalid_request');
  const genuine = await approveByHand(page, realKey, citizens.adult.certificate, ['realname_verified']);
  assert.equal(genuine.status, 200, genuine.text);
  assert.deepEqual(genuine.body, { status: 'approved' });
  const decided = await pollDecided(issuer, page.loginId);
  assert.equal(decided.status, 'approved');
  const tokens = await client.authorizationCodeGrant(configs.shop, new URL(decided.redirect_to), {
    pkceCodeVerifier: page.verifier, expectedState: page.state, expectedNonce: page.nonce, idTokenExpected: true,
  });
  assert.equal(tokens.claims().realname_verified, true);
  assert.equal(tokens.claims().age_over_18, undefined, 'the signed release is what counts');
});

test('a denial sends the browser back with error=access_denied', async () => {
  const done = await login(platforms.shop, configs.shop, citizens.adult.wallet, { flags: ['--deny'] });
  assert.equal(done.appAnswer.status, 'denied');
  assert.equal(done.decided.status, 'denied');
  const params = redirectParams(done.decided.redirect_to, platforms.shop.redirectUri);
  assert.equal(params.get('error'), 'access_denied');
  assert.equal(params.get('state'), done.state);
  assert.equal(params.get('iss'), issuer);
  assert.equal(params.get('code'), null);
  const rejected = await clientError(client.authorizationCodeGrant(configs.shop, new URL(done.decided.redirect_to), {
    pkceCodeVerifier: done.verifier, expectedState: done.state, expectedNonce: done.nonce,
  }));
  assert.equal(rejected.error, 'access_denied');
  // A decided login cannot be decided again.
  const again = await appLogin(citizens.adult.wallet, done.shown, '--approve');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already_decided: .*\(HTTP 409\)/);
});

// ---- direct verification ----

test('direct verification: the assertion gives the platform its OIDC sub, once, and only to its audience', async () => {
  const oidc = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const made = await app(['--wallet', citizens.adult.wallet, 'assert', '--audience', platforms.shop.client_id,
    '--release', 'realname_verified']);
  assert.equal(made.code, 0, made.stderr);
  const assertion = made.stdout.trim();
  assert.equal(decodeJwt(assertion).header.typ, 'cyberid-assertion+jwt');
  const verify = async (platform, secret) => {
    const response = await fetch(`${issuer}/v1/verify`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(platform, secret) },
      body: JSON.stringify({ assertion }) });
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch { /* checked below */ }
    return { status: response.status, body, text, headers: response.headers };
  };
  // Wrong credentials first: refused without spending the assertion.
  const badSecret = await verify(platforms.shop, 'wrong-secret');
  expectOAuthError(badSecret, 401, 'invalid_client');
  // Another platform cannot use an assertion made for this one.
  const otherAudience = await verify(platforms.social);
  assert.equal(otherAudience.status, 400, otherAudience.text);
  assert.equal(otherAudience.body.error, 'invalid_grant');

  const verified = await verify(platforms.shop);
  assert.equal(verified.status, 200, verified.text);
  assert.equal(verified.body.sub, oidc.claims.sub, 'the same pairwise sub as OpenID Connect gives');
  assert.equal(verified.body.acr, 'cyberid:face');
  assert.equal(verified.body.realname_verified, true);
  assert.equal(verified.body.age_over_18, undefined, 'not released');
  const replayed = await verify(platforms.shop);
  assert.equal(replayed.status, 400, replayed.text);
  assert.equal(replayed.body.error, 'invalid_grant');
});

// ---- signing key rotation (last: it changes the signing key) ----

test('key rotation: the next key is published before it signs, then signs; openid-client validates both', async () => {
  const jwksBefore = await (await fetch(`${issuer}/jwks.json`)).json();
  const earlier = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const oldKid = decodeJwt(earlier.tokens.id_token).header.kid;
  assert.equal(jwksBefore.keys[0].kid, oldKid, 'the signing key is listed first');

  const rotated = await run(['keys', 'rotate', '--data', temp.data, '--activate-in', '3']);
  assert.equal(rotated.code, 0, rotated.stderr + rotated.stdout);
  const { kid: newKid, activates_at: activatesAt } = JSON.parse(rotated.stdout);
  assert.equal(typeof newKid, 'string');
  assert.notEqual(newKid, oldKid);
  const now = Date.now() / 1000;
  assert.ok(activatesAt >= now + 1 && activatesAt <= now + 4, `activates_at ${activatesAt}, now ${now}`);

  // A relying party that fetches the JWKS now (a fresh configuration)
  // sees both keys, while ID tokens are still signed by the old one. The
  // serve keeps the key table in memory and forgets it on the
  // notification the rotation's commit sends, milliseconds after.
  let published;
  for (const deadline = Date.now() + 2000; ;) {
    published = await (await fetch(`${issuer}/jwks.json`)).json();
    if (published.keys.length === 2 || Date.now() > deadline) break;
    await new Promise((done) => setTimeout(done, 20));
  }
  assert.deepEqual(published.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
  const rp = await discover(issuer, platforms.shop);
  assert.equal(published.keys[0].kid, oldKid);
  const stillOld = await loginAndExchange(platforms.shop, rp, citizens.adult.wallet);
  assert.ok(Date.now() / 1000 < activatesAt, 'this machine was too slow to log in before the activation');
  assert.equal(decodeJwt(stillOld.tokens.id_token).header.kid, oldKid);
  const listed = await run(['keys', 'list', '--data', temp.data]);
  assert.equal(listed.code, 0, listed.stderr);
  const stateOf = (list, kid) => list.find((k) => k.kid === kid)?.state;
  assert.equal(stateOf(JSON.parse(listed.stdout), oldKid), 'signing');
  assert.equal(stateOf(JSON.parse(listed.stdout), newKid), 'next');

  await new Promise((done) => setTimeout(done, Math.max(0, (activatesAt + 1) * 1000 - Date.now())));
  const afterwards = await loginAndExchange(platforms.shop, rp, citizens.adult.wallet);
  assert.equal(decodeJwt(afterwards.tokens.id_token).header.kid, newKid);
  assert.equal(afterwards.claims.sub, stillOld.claims.sub);
  const republished = await (await fetch(`${issuer}/jwks.json`)).json();
  assert.equal(republished.keys[0].kid, newKid, 'the signing key is listed first');
  assert.ok(republished.keys.some((k) => k.kid === oldKid), 'the retired key stays published');
  const relisted = JSON.parse((await run(['keys', 'list', '--data', temp.data])).stdout);
  assert.equal(stateOf(relisted, newKid), 'signing');
  assert.equal(stateOf(relisted, oldKid), 'published');
  // An ID token the old key signed still verifies with the published key.
  const oldJwk = republished.keys.find((k) => k.kid === oldKid);
  const [head, body, signature] = stillOld.tokens.id_token.split('.');
  assert.ok(cryptoVerify('sha256', Buffer.from(`${head}.${body}`),
    { key: createPublicKey({ key: oldJwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url')));
});

test('each release is an audit event naming platform and claims, never values; the database holds no credential or personal data', async () => {
  const done = await loginAndExchange(platforms.shop, configs.shop, citizens.adult.wallet);
  const code = new URL(done.decided.redirect_to).searchParams.get('code');
  // The citizen's events are sealed: the operator reads them with
  // `cyberid log events` (itself an event of the citizen).
  const mine = async (action) => (await inquiry(temp.data, action))
    .filter((event) => event.subject === citizens.adult.web_number);
  const approved = (await mine('login.approved')).pop();
  const disclosed = (await mine('claims.disclosed')).pop();
  const released = ['realname_verified', 'age_over_18'];
  assert.equal(approved.actor, `citizen:${citizens.adult.web_number}`);
  assert.equal(approved.sealed, true);
  assert.deepEqual(approved.details, { client_id: platforms.shop.client_id, claims: released, asked: released });
  // A partial release (the adult's first login at the shop, in before())
  // says what was asked beside it.
  const partial = (await mine('login.approved'))
    .find((e) => e.details.client_id === platforms.shop.client_id && e.details.claims.length === 1);
  assert.ok(partial, 'the partial release is in the log');
  assert.deepEqual(partial.details.claims, ['realname_verified']);
  assert.deepEqual([...partial.details.asked].sort(), ['age_over_18', 'realname_verified']);
  assert.equal(disclosed.actor, `platform:${platforms.shop.client_id}`);
  assert.deepEqual(disclosed.details, { client_id: platforms.shop.client_id, claims: released });
  // Each userinfo answer discloses the values again, and is logged so.
  const info = await client.fetchUserInfo(configs.shop, done.tokens.access_token, done.claims.sub);
  assert.equal(info.age_over_18, true);
  const viaUserinfo = (await mine('claims.disclosed')).pop();
  assert.equal(viaUserinfo.actor, `platform:${platforms.shop.client_id}`);
  assert.deepEqual(viaUserinfo.details,
    { client_id: platforms.shop.client_id, claims: released, via: 'userinfo' });
  // Each reading is an event of the citizen; this one opens those before
  // it, the last being the reading of claims.disclosed.
  const readings = await mine('log.events_read');
  assert.ok(readings.length >= 3, 'each reading is an event of the citizen');
  assert.deepEqual(readings.pop().details, { legal_basis: 'test inquiry', action: 'claims.disclosed' });

  // The event tables (SQLite's .dump of them; pg_dump of them and their
  // shards on every node) name no web number, and a client id or a claim
  // name only in the operator's own platform events: nobody can read
  // from a copy who logged in where, or what was released.
  const rows = (await eventTablesDump(temp.data)).split('\n');
  const platformEvent = /'platform\.(add|disable|enable)'/;
  for (const citizen of Object.values(citizens)) {
    assert.deepEqual(rows.filter((row) => containsSecret(Buffer.from(row), citizen.web_number)), [],
      'a web number in the event tables');
  }
  for (const platform of Object.values(platforms)) {
    assert.deepEqual(rows.filter((row) => row.includes(platform.client_id) && !platformEvent.test(row)), [],
      `client id ${platform.client_id} next to a citizen's event`);
  }
  for (const claim of released) {
    assert.deepEqual(rows.filter((row) => row.includes(claim) && !platformEvent.test(row)), [],
      `claim name ${claim} next to a citizen's event`);
  }
  assert.ok(rows.some((row) => row.includes("'login.approved'")), 'the dump has the login events');

  // A copy of the database (the SQLite files, WAL included; pg_dump of
  // every PostgreSQL node) holds no usable credential of this login and
  // none of the citizen's registry data.
  const bytes = await databaseCopy(temp.data);
  const secrets = {
    access_token: done.tokens.access_token, refresh_token: done.tokens.refresh_token, code,
    user_code: done.userCode, login_id: done.loginId, name: adult.name, national_id: adult.id, birth_date: adult.birth,
    // what the plain audit rows of before sealed events named
    event_actor: `citizen:${citizens.adult.web_number}`,
  };
  for (const [what, value] of Object.entries(secrets)) {
    assert.ok(value && Buffer.byteLength(value) >= 6, what); // long enough not to occur by chance
    assert.equal(containsSecret(bytes, value), false, `${what} is in a copy of the database`);
  }
});
