// A Python platform with Debian 12's python3-authlib and python3-requests
// (docs/quickstart.md, "Python (authlib)"): authlib_platform.py is the
// platform; this test plays the browser (it opens the authorization URL
// the script prints, reads the user code and login id from the page, polls
// until decided) and the citizen (the real cyberid-app approves), then
// hands the script the URL the browser is sent back to. The script
// exchanges the code, has authlib validate the ID token, reads userinfo,
// refreshes, introspects and revokes, and reports what it got.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initDataDir, startServer } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen } from './lib/citizen.mjs';
import { addPlatform, shownUserCode, pageLoginId, pollDecided, appLogin, redirectParams } from './lib/oidc.mjs';

const SCRIPT = fileURLToPath(new URL('authlib_platform.py', import.meta.url));
// Debian's interpreter, which sees Debian's python3-* packages (a python3
// earlier in PATH, pyenv's say, would not).
const PYTHON = process.env.CYBERID_PYTHON || '/usr/bin/python3';
const SUB = /^[a-z2-7]{26}$/;
const adult = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };

let temp, server, citizen, platform;

before(async () => {
  temp = await initDataDir('authlib');
  await importRegistry(temp, [adult]);
  const photos = await preparePhotos(temp.dir);
  platform = await addPlatform(temp.data, temp.dir, {
    name: 'Python Shop', redirectUris: ['http://127.0.0.1:8410/callback'], claims: 'realname_verified,age_over_18',
  });
  server = await startServer(temp.data);
  citizen = await enrollCitizen(server.url, path.join(temp.dir, 'wallet.json'), adult, photos);
});

after(async () => {
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, `cyberid serve exits 0 on SIGTERM:\n${server.logs.slice(-20).join('\n')}`);
  }
  if (temp) await temp.cleanup();
});

/** Starts the script; resolves {next() (its next JSON line), send(line),
 * exited, stderr()}. The secret goes in its environment, not its argv. */
function startScript() {
  const child = spawn(PYTHON, [SCRIPT], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env, CYBERID_ISSUER: server.url, CYBERID_CLIENT_ID: platform.client_id,
      CYBERID_CLIENT_SECRET: platform.client_secret, CYBERID_REDIRECT_URI: platform.redirectUri,
    },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const lines = [];
  const waiting = [];
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (waiting.length) waiting.shift()(line);
      else lines.push(line);
    }
  });
  return {
    child,
    exited,
    stderr: () => stderr,
    next: () => Promise.race([
      lines.length ? Promise.resolve(lines.shift()) : new Promise((resolve) => waiting.push(resolve)),
      exited.then(({ code }) => { throw new Error(`authlib_platform.py exited ${code}: ${stderr}`); }),
    ]).then((line) => JSON.parse(line)),
    send: (line) => child.stdin.write(`${line}\n`),
  };
}

test('authlib: code flow with PKCE, the app approves, authlib validates the ID token; userinfo, refresh, introspection, revocation', async () => {
  const script = startScript();
  try {
    const { authorization_url: url } = await script.next();
    const asked = new URL(url);
    assert.equal(`${asked.origin}${asked.pathname}`, `${server.url}/authorize`);
    assert.equal(asked.searchParams.get('code_challenge_method'), 'S256');
    assert.match(asked.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.ok(asked.searchParams.get('state'));
    assert.ok(asked.searchParams.get('nonce'));

    // The browser: the login page, its user code and polling.
    const response = await fetch(url, { redirect: 'manual' });
    const html = await response.text();
    assert.equal(response.status, 200, html);
    const approved = await appLogin(citizen.wallet, shownUserCode(html), '--approve');
    assert.equal(approved.code, 0, approved.stderr);
    const decided = await pollDecided(server.url, pageLoginId(html));
    assert.equal(decided.status, 'approved');
    redirectParams(decided.redirect_to, platform.redirectUri);
    script.send(decided.redirect_to);

    const got = await script.next();
    assert.equal(got.token_scope, 'openid realname_verified age_over_18');
    const claims = got.id_token_claims;
    assert.equal(claims.iss, server.url);
    assert.equal(claims.aud, platform.client_id);
    assert.match(claims.sub, SUB);
    assert.notEqual(claims.sub.toUpperCase(), citizen.web_number);
    assert.equal(claims.acr, 'cyberid:face');
    assert.equal(claims.realname_verified, true);
    assert.equal(claims.age_over_18, true);
    assert.deepEqual(got.userinfo, { sub: claims.sub, realname_verified: true, age_over_18: true });
    for (const secret of [adult.id, adult.name, adult.birth, citizen.web_number]) {
      assert.ok(!JSON.stringify(got).includes(secret), `the platform received ${secret}`);
    }
    // authlib's validation is real: the same token with another nonce, a
    // wrong at_hash or one flipped signature bit is refused.
    assert.deepEqual(got.refusals, { nonce: 'invalid_claim', at_hash: 'invalid_claim', signature: 'bad_signature' });
    // authlib sends its whole scope on refresh too: the grant's claims.
    assert.deepEqual(got.refreshed, { scope: 'openid realname_verified age_over_18', new_access_token: true });
    assert.deepEqual(got.userinfo_after_refresh, got.userinfo);
    assert.equal(got.introspection.active, true);
    assert.equal(got.introspection.sub, claims.sub);
    assert.equal(got.introspection.client_id, platform.client_id);
    assert.equal(got.revocation_status, 200);
    assert.deepEqual(got.introspection_after_revocation, { active: false });
    assert.deepEqual(await script.exited, { code: 0, signal: null }, script.stderr());
  } finally {
    if (script.child.exitCode === null) script.child.kill('SIGTERM');
  }
});
