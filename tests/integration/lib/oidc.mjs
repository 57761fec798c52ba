// Pieces the login tests share (docs/api.md, "Login (OpenID Connect,
// cross-device)"): registering a platform with the CLI, an openid-client
// configuration for it, reading the login page, polling it, and the app's
// `login` command.
import assert from 'node:assert/strict';
import { randomBytes, sign as cryptoSign } from 'node:crypto';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import * as client from 'openid-client';
import { run } from './harness.mjs';
import { app } from './citizen.mjs';

// For scripts outside tests/integration (bench/soak), which cannot resolve
// the package from where they are.
export { client };

export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const SHOWN_USER_CODE = new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`);
export const insecure = { execute: [client.allowInsecureRequests] };

/** `cyberid platform add`; resolves the printed registration (client_id,
 * client_secret for client_secret_basic). options: {name, redirectUris,
 * claims, authMethod, jwks (an object, written to a file in dir),
 * sectorId, sectorOf (a client id), sectorIdentifierUri, purpose,
 * refreshReuse (seconds), fapi2 (true: held to FAPI 2.0)}. */
export async function addPlatform(data, dir, options) {
  const args = ['platform', 'add', '--data', data, '--name', options.name];
  for (const uri of options.redirectUris) args.push('--redirect-uri', uri);
  if (options.claims) args.push('--claims', options.claims);
  if (options.sectorId) args.push('--sector-id', options.sectorId);
  if (options.sectorOf) args.push('--sector-of', options.sectorOf);
  if (options.purpose) args.push('--purpose', options.purpose);
  if (options.refreshReuse !== undefined) args.push('--refresh-reuse', String(options.refreshReuse));
  if (options.sectorIdentifierUri) args.push('--sector-identifier-uri', options.sectorIdentifierUri);
  if (options.authMethod) args.push('--auth-method', options.authMethod);
  if (options.fapi2) args.push('--fapi2');
  if (options.jwks) {
    const file = path.join(dir, `jwks-${options.name.replace(/\W+/g, '-')}.json`);
    await writeFile(file, JSON.stringify(options.jwks));
    args.push('--jwks', file);
  }
  const result = await run(args);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const platform = JSON.parse(result.stdout);
  assert.equal(typeof platform.client_id, 'string');
  return { ...platform, redirectUri: options.redirectUris[0] };
}

/** An openid-client Configuration for a platform by discovery;
 * clientAuth defaults to client_secret_basic with its secret. */
export function discover(issuer, platform, clientAuth) {
  return client.discovery(new URL(issuer), platform.client_id, platform.client_secret,
    clientAuth ?? client.ClientSecretBasic(platform.client_secret), insecure);
}

/** A fresh PKCE verifier, its S256 challenge, state and nonce. */
export async function loginChecks() {
  const verifier = client.randomPKCECodeVerifier();
  return {
    verifier,
    challenge: await client.calculatePKCECodeChallenge(verifier),
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
}

/** The authorization URL (code flow, PKCE S256, state, nonce). */
export function authorizationUrl(config, platform, checks, scope, extra = {}) {
  return client.buildAuthorizationUrl(config, {
    redirect_uri: platform.redirectUri, scope, response_type: 'code',
    code_challenge: checks.challenge, code_challenge_method: 'S256',
    state: checks.state, nonce: checks.nonce, ...extra,
  });
}

/** The text of the element with id="user-code" (tags inside dropped). */
export function shownUserCode(html) {
  const match = /<(\w+)\b[^>]*\bid\s*=\s*["']user-code["'][^>]*>([\s\S]*?)<\/\1\s*>/i.exec(html);
  assert.ok(match, 'the login page has an element with id="user-code"');
  const text = match[2].replace(/<[^>]*>/g, '').replace(/\s+/g, '');
  assert.match(text, SHOWN_USER_CODE, 'the user code is shown as XXXX-XXXX');
  return text;
}

/** The login id of the page: in the URL its script polls,
 * /v1/authorize/status/{login_id} (written absolute or relative). */
export function pageLoginId(html) {
  const match = /\bv1\/authorize\/status\/([A-Za-z0-9_-]{16,})/.exec(html);
  assert.ok(match, 'the login page polls /v1/authorize/status/{login_id}');
  return match[1];
}

/** GET /v1/authorize/status/{login_id}: {status, body}. */
export async function pollOnce(issuer, loginId) {
  const response = await fetch(`${issuer}/v1/authorize/status/${loginId}`);
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* checked below */ }
  assert.ok(body, `status poll: not JSON: ${response.status} ${text}`);
  return { status: response.status, body };
}

/** Polls until the login is no longer pending (at most ~5 s). */
export async function pollDecided(issuer, loginId) {
  for (let i = 0; i < 100; i++) {
    const { status, body } = await pollOnce(issuer, loginId);
    assert.equal(status, 200, JSON.stringify(body));
    if (body.status !== 'pending') return body;
    await new Promise((done) => setTimeout(done, 50));
  }
  assert.fail('the login stayed pending');
}

/** `cyberid-app --wallet W login CODE [flags…]`. */
export function appLogin(wallet, code, ...flags) {
  return app(['--wallet', wallet, 'login', code, ...flags]);
}

/** The query parameters of a redirect, after checking it goes to uri. */
export function redirectParams(location, uri) {
  const target = new URL(location);
  assert.equal(`${target.origin}${target.pathname}`, uri, `redirect to the registered URI: ${location}`);
  return target.searchParams;
}

/** The decoded header and payload of a compact JWS (no verification). */
export function decodeJwt(token) {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  };
}

/** The Authorization header of client_secret_basic (RFC 6749 §2.3.1). */
export function basicAuth(platform, secret = platform.client_secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(platform.client_id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** A device token (docs/api.md, "Devices") built here for the service
 * `audience` (its issuer URL): signed by key, with certificatePem in x5c. */
export function deviceToken(audience, key, certificatePem, method, requestPath, extra = {}) {
  const der = certificatePem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const header = { alg: 'ES256', typ: 'cyberid-device+jwt', x5c: [der] };
  const now = Math.floor(Date.now() / 1000);
  const payload = { aud: audience, htm: method, htu: requestPath, iat: now, exp: now + 60,
    jti: randomBytes(24).toString('base64url'), ...extra };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
