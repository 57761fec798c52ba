// FAPI 2.0 for platforms registered with `cyberid platform add --fapi2`
// (docs/api.md, "FAPI 2.0"): openid-client pushes the authorization
// request (PAR, RFC 9126) with private_key_jwt, binds the code and the
// tokens to a DPoP key (RFC 9449) and meets the server nonce; the app
// approves; userinfo and refresh go only with a proof by that key. Then
// every refusal: no PAR, no DPoP, another key, a replayed proof, a stale
// or reused request_uri, a client secret. A platform that is not FAPI may
// push its requests too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import path from 'node:path';
import * as client from 'openid-client';
import { run, initDataDir, startServer, execute } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen } from './lib/citizen.mjs';
import {
  addPlatform, discover, loginChecks, shownUserCode, pageLoginId, pollDecided, appLogin,
  redirectParams, insecure,
} from './lib/oidc.mjs';

const SCOPE = 'openid realname_verified';
const citizen = { id: nationalId('110105', '1982-03-04', '027'), name: '陈静', birth: '1982-03-04', photo: 'img62.jpg' };

let temp, server, issuer, wallet;
let fapi, plain, config, assertionKey, dpopKeys, dpop;

/** An ES256 key pair (WebCrypto), and its public JWK. */
async function es256() {
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  return { ...pair, jwk: await webcrypto.subtle.exportKey('jwk', pair.publicKey) };
}

/** The RFC 7638 thumbprint of an EC public JWK. */
function thumbprint(jwk) {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A DPoP proof made by hand (RFC 9449 §4.2). */
async function proof(keys, htm, htu, { nonce, accessToken, jti, typ = 'dpop+jwt', iat } = {}) {
  const { kty, crv, x, y } = keys.jwk;
  const header = { typ, alg: 'ES256', jwk: { kty, crv, x, y } };
  const payload = { jti: jti ?? randomBytes(16).toString('base64url'), htm, htu,
    iat: iat ?? Math.floor(Date.now() / 1000) };
  if (nonce) payload.nonce = nonce;
  if (accessToken) payload.ath = createHash('sha256').update(accessToken).digest('base64url');
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

before(async () => {
  temp = await initDataDir('fapi');
  await importRegistry(temp, [citizen]);
  const photos = await preparePhotos(temp.dir);
  assertionKey = await es256();
  fapi = await addPlatform(temp.data, temp.dir, {
    name: 'Test Bank', redirectUris: ['http://127.0.0.1:8501/cb'], claims: 'realname_verified',
    authMethod: 'private_key_jwt', fapi2: true,
    jwks: { keys: [{ ...assertionKey.jwk, kid: 'bank-1', alg: 'ES256', use: 'sig', key_ops: undefined, ext: undefined }] },
  });
  assert.equal(fapi.fapi2, true);
  plain = await addPlatform(temp.data, temp.dir, {
    name: 'Test Forum', redirectUris: ['http://127.0.0.1:8502/cb'], claims: 'realname_verified',
  });
  server = await startServer(temp.data);
  issuer = server.url;
  wallet = path.join(temp.dir, 'citizen.json');
  await enrollCitizen(issuer, wallet, citizen, photos);
  config = await discover(issuer, fapi, client.PrivateKeyJwt({ key: assertionKey.privateKey, kid: 'bank-1' }));
  dpopKeys = await client.randomDPoPKeyPair('ES256');
  dpop = client.getDPoPHandle(config, dpopKeys);
});

after(async () => {
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, `cyberid serve exits 0 on SIGTERM:\n${server.logs.slice(-20).join('\n')}`);
  }
  if (temp) await temp.cleanup();
});

/** Pushes a request (openid-client's PAR, with DPoP unless told not to):
 * resolves the /authorize URL and the checks. */
async function push(configuration = config, platform = fapi, options = { DPoP: dpop }) {
  const checks = await loginChecks();
  const url = await client.buildAuthorizationUrlWithPAR(configuration, {
    redirect_uri: platform.redirectUri, scope: SCOPE, response_type: 'code',
    code_challenge: checks.challenge, code_challenge_method: 'S256',
    state: checks.state, nonce: checks.nonce,
  }, options);
  return { url, checks };
}

/** Opens the page of a pushed request, approves in the app, polls:
 * resolves the redirect URL with the code. */
async function approve(url) {
  const response = await fetch(url, { redirect: 'manual' });
  const html = await response.text();
  assert.equal(response.status, 200, html);
  const decision = await appLogin(wallet, shownUserCode(html), '--approve');
  assert.equal(decision.code, 0, decision.stderr);
  const decided = await pollDecided(issuer, pageLoginId(html));
  assert.equal(decided.status, 'approved');
  return new URL(decided.redirect_to);
}

/** The error a promise of openid-client rejects with. */
async function clientError(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('openid-client accepted what it should not');
}

test('discovery advertises PAR, DPoP with ES256 and PS256, and iss in the response', async () => {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.equal(meta.pushed_authorization_request_endpoint, `${issuer}/par`);
  assert.deepEqual(meta.dpop_signing_alg_values_supported, ['ES256', 'PS256']);
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  assert.deepEqual(meta.ui_locales_supported, ['en', 'zh-CN']);
  assert.ok(meta.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  assert.ok(meta.token_endpoint_auth_signing_alg_values_supported.includes('PS256'));
});

test('registration: --fapi2 needs private_key_jwt and takes no refresh reuse interval', async () => {
  const secret = await run(['platform', 'add', '--data', temp.data, '--name', 'X',
    '--redirect-uri', 'http://127.0.0.1:8509/cb', '--fapi2']);
  assert.notEqual(secret.code, 0);
  assert.match(secret.stderr, /--fapi2 needs --auth-method private_key_jwt/);
  const reuse = await run(['platform', 'add', '--data', temp.data, '--name', 'X',
    '--redirect-uri', 'http://127.0.0.1:8509/cb', '--fapi2', '--auth-method', 'private_key_jwt',
    '--jwks', path.join(temp.dir, 'jwks-Test-Bank.json'), '--refresh-reuse', '5']);
  assert.notEqual(reuse.code, 0);
  assert.match(reuse.stderr, /--fapi2 platforms have no --refresh-reuse/);
});

test('FAPI 2.0 login: PAR + DPoP + private_key_jwt, the app approves, tokens bound to the DPoP key', async () => {
  const { url, checks } = await push();
  assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
  assert.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);
  const back = await approve(url);
  const params = redirectParams(back.href, fapi.redirectUri);
  assert.equal(params.get('iss'), issuer, 'iss in the authorization response (RFC 9207)');
  const tokens = await client.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce,
  }, undefined, { DPoP: dpop });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  const sub = tokens.claims().sub;
  const info = await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP: dpop });
  assert.equal(info.realname_verified, true);

  // Introspection names the key (RFC 9449 §6.2).
  const introspected = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(introspected.active, true);
  assert.equal(introspected.token_type, 'DPoP');
  assert.equal(introspected.cnf.jkt, thumbprint(await webcrypto.subtle.exportKey('jwk', dpopKeys.publicKey)));

  // The token alone, as Bearer or without its proof, is refused.
  const bearer = await fetch(`${issuer}/userinfo`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(bearer.status, 401);
  const unproved = await fetch(`${issuer}/userinfo`, { headers: { Authorization: `DPoP ${tokens.access_token}` } });
  assert.equal(unproved.status, 401);
  assert.match(unproved.headers.get('www-authenticate') ?? '', /^DPoP /);

  // Another key's proof: refused at userinfo and at refresh.
  const other = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const stolen = await clientError(client.fetchUserInfo(config, tokens.access_token, sub, { DPoP: other }));
  assert.match(String(stolen.cause?.status ?? stolen.status ?? stolen.message), /401|invalid_dpop_proof|DPoP/);
  const stolenRefresh = await clientError(client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: other }));
  assert.equal(stolenRefresh.error, 'invalid_dpop_proof', stolenRefresh.message);
  const noProofRefresh = await clientError(client.refreshTokenGrant(config, tokens.refresh_token));
  assert.equal(noProofRefresh.error, 'invalid_dpop_proof', noProofRefresh.message);

  // The right key refreshes; the new pair is bound too.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: dpop });
  assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
  const again = await client.fetchUserInfo(config, refreshed.access_token, sub, { DPoP: dpop });
  assert.equal(again.sub, sub);
});

test('a DPoP proof is used once, needs the server nonce at the token endpoint, and names its request', async () => {
  const { url, checks } = await push();
  const back = await approve(url);
  const tokens = await client.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce,
  }, undefined, { DPoP: dpop });
  const keys = { privateKey: dpopKeys.privateKey, jwk: await webcrypto.subtle.exportKey('jwk', dpopKeys.publicKey) };
  const userinfo = `${issuer}/userinfo`;
  const once = await proof(keys, 'GET', userinfo, { accessToken: tokens.access_token });
  const first = await fetch(userinfo, { headers: { Authorization: `DPoP ${tokens.access_token}`, DPoP: once } });
  assert.equal(first.status, 200, await first.text());
  const replay = await fetch(userinfo, { headers: { Authorization: `DPoP ${tokens.access_token}`, DPoP: once } });
  assert.equal(replay.status, 401);
  assert.match(replay.headers.get('www-authenticate'), /error="invalid_dpop_proof"/);
  assert.match((await replay.json()).error_description, /already used/);
  // A proof for another endpoint, another method, or without ath.
  for (const wrong of [
    await proof(keys, 'GET', `${issuer}/token`, { accessToken: tokens.access_token }),
    await proof(keys, 'POST', userinfo, { accessToken: tokens.access_token }),
    await proof(keys, 'GET', userinfo),
    await proof(keys, 'GET', userinfo, { accessToken: tokens.access_token, typ: 'JWT' }),
    await proof(keys, 'GET', userinfo, { accessToken: tokens.access_token, iat: Math.floor(Date.now() / 1000) - 3600 }),
  ]) {
    const answer = await fetch(userinfo, { headers: { Authorization: `DPoP ${tokens.access_token}`, DPoP: wrong } });
    assert.equal(answer.status, 401);
  }
  // At the authorization server a proof needs the server's nonce: without
  // one, use_dpop_nonce and a DPoP-Nonce to use; with it, accepted (PAR
  // by hand, for the platform authenticated with its secret).
  const checks2 = await loginChecks();
  const form = () => new URLSearchParams({ redirect_uri: plain.redirectUri, response_type: 'code', scope: SCOPE,
    code_challenge: checks2.challenge, code_challenge_method: 'S256' });
  const auth = `Basic ${Buffer.from(`${plain.client_id}:${plain.client_secret}`).toString('base64')}`;
  const noNonce = await fetch(`${issuer}/par`, {
    method: 'POST', headers: { Authorization: auth, DPoP: await proof(keys, 'POST', `${issuer}/par`) }, body: form(),
  });
  assert.equal(noNonce.status, 400);
  assert.equal((await noNonce.json()).error, 'use_dpop_nonce');
  const nonce = noNonce.headers.get('dpop-nonce');
  assert.match(nonce ?? '', /^[A-Za-z0-9_-]{32}$/);
  const withNonce = await fetch(`${issuer}/par`, {
    method: 'POST', headers: { Authorization: auth, DPoP: await proof(keys, 'POST', `${issuer}/par`, { nonce }) }, body: form(),
  });
  assert.equal(withNonce.status, 201, await withNonce.clone().text());
  assert.equal((await withNonce.json()).expires_in, 60);
  const forged = await fetch(`${issuer}/par`, {
    method: 'POST', headers: { Authorization: auth, DPoP: await proof(keys, 'POST', `${issuer}/par`, { nonce: 'A'.repeat(32) }) }, body: form(),
  });
  assert.equal((await forged.json()).error, 'use_dpop_nonce');
});

test('refusals: no PAR, no DPoP at PAR, a code taken with another key, a stale or reused request_uri, a client secret', async () => {
  // Straight to /authorize: back to the platform with invalid_request.
  const checks = await loginChecks();
  const direct = client.buildAuthorizationUrl(config, {
    redirect_uri: fapi.redirectUri, scope: SCOPE, response_type: 'code',
    code_challenge: checks.challenge, code_challenge_method: 'S256', state: checks.state,
  });
  const refused = await fetch(direct, { redirect: 'manual' });
  assert.equal(refused.status, 302);
  const params = redirectParams(refused.headers.get('location'), fapi.redirectUri);
  assert.equal(params.get('error'), 'invalid_request');
  assert.match(params.get('error_description'), /PAR/);

  // PAR without a DPoP key to bind the code to.
  const unbound = await clientError(push(config, fapi, {}));
  assert.equal(unbound.error, 'invalid_request', unbound.message);
  assert.match(unbound.error_description, /DPoP/);

  // The code, bound at PAR, taken with another key's proof: refused.
  const { url, checks: bound } = await push();
  const back = await approve(url);
  const other = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const wrongKey = await clientError(client.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: bound.verifier, expectedState: bound.state, expectedNonce: bound.nonce,
  }, undefined, { DPoP: other }));
  assert.equal(wrongKey.error, 'invalid_dpop_proof', wrongKey.message);

  // A request_uri is used once, and not after it expired.
  const { url: reused } = await push();
  assert.equal((await fetch(reused, { redirect: 'manual' })).status, 200);
  const second = await fetch(reused, { redirect: 'manual' });
  assert.equal(second.status, 400);
  assert.match(await second.text(), /expired or was already used/);
  const { url: stale } = await push();
  assert.ok(await execute(temp.data, 'UPDATE oidc_par SET expires_at = 0') >= 1);
  const expired = await fetch(stale, { redirect: 'manual' });
  assert.equal(expired.status, 400);
  assert.match(await expired.text(), /expired or was already used/);

  // A client secret is not a FAPI platform's way in.
  const secret = await fetch(`${issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: fapi.client_id, client_secret: 'guess' }),
  });
  assert.equal(secret.status, 401);
  assert.equal((await secret.json()).error, 'invalid_client');
  const basic = await fetch(`${issuer}/par`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${fapi.client_id}:guess`).toString('base64')}` },
    body: new URLSearchParams({ response_type: 'code' }),
  });
  assert.equal(basic.status, 401);
});

test('a platform that is not FAPI may push its requests too, with or without DPoP', async () => {
  const plainConfig = await discover(issuer, plain);
  const { url, checks } = await push(plainConfig, plain, {});
  const back = await approve(url);
  const tokens = await client.authorizationCodeGrant(plainConfig, back, {
    pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce,
  });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  // A pushed request is checked as /authorize checks one.
  const form = new URLSearchParams({ redirect_uri: 'http://127.0.0.1:9999/elsewhere', response_type: 'code', scope: SCOPE,
    code_challenge: checks.challenge, code_challenge_method: 'S256' });
  const wrong = await fetch(`${issuer}/par`, {
    method: 'POST', body: form,
    headers: { Authorization: `Basic ${Buffer.from(`${plain.client_id}:${plain.client_secret}`).toString('base64')}` },
  });
  assert.equal(wrong.status, 400);
  assert.equal((await wrong.json()).error, 'invalid_request');
});
