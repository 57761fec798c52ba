// Behind a reverse proxy (docs/deployment.md): `serve --trusted-proxy
// CIDR` takes the client address from X-Forwarded-For, read right to left
// through trusted hops only; from any other peer the header is ignored.
// Then a whole login through Debian's nginx terminating TLS on loopback,
// started by this test with its own config and certificate and stopped by
// its PID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { readFile, writeFile, mkdir, chmod } from 'node:fs/promises';
import * as client from 'openid-client';
import { initDataDir, startServer, sql, spendLimit } from './lib/harness.mjs';
import { exec, nationalId, importRegistry, preparePhotos, enrollCitizen } from './lib/citizen.mjs';
import { addPlatform, loginChecks, authorizationUrl, shownUserCode, pageLoginId, appLogin } from './lib/oidc.mjs';

const NGINX = process.env.CYBERID_NGINX || '/usr/sbin/nginx';
const PROXY = '127.0.0.3'; // the address nginx connects from (proxy_bind)
const FRONT = '127.0.0.2'; // where nginx listens

/** POST {} to path from a local address with extra headers: {status, body, text}. */
function postWith(localAddress, url, headers = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST', localAddress, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': 2, ...headers },
    }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body = null;
        try { body = JSON.parse(text); } catch { /* checked by the caller */ }
        resolve({ status: response.statusCode, body, text });
      });
    });
    request.on('error', reject);
    request.end('{}');
  });
}

const challenge = (server, from, headers) => postWith(from, `${server.url}/v1/enroll/challenge`, headers);

test('X-Forwarded-For counts only from a trusted proxy, read right to left', async () => {
  const temp = await initDataDir('proxy-xff');
  const server = await startServer(temp.data, ['--trusted-proxy', `${PROXY}/32`, '--trusted-proxy', 'fd00::/8']);
  try {
    // An untrusted peer spoofing a new address each time: ignored, its
    // own minute of challenges (60) and then 429.
    const { refused: spoofed } = await spendLimit(
      (i) => challenge(server, '127.0.0.1', { 'x-forwarded-for': `198.51.100.${i % 250}` }), 201, 60,
      'challenges with a spoofed X-Forwarded-For');
    assert.equal(spoofed.status, 429, 'a spoofed X-Forwarded-For from an untrusted peer is ignored');

    // Through the trusted proxy, each client its own limit: 203.0.113.7
    // spends its minute, then another client still gets in, and so does
    // the one who wrote a fake address left of what the proxy added.
    const { refused: spentClient } = await spendLimit(
      () => challenge(server, PROXY, { 'x-forwarded-for': '10.9.9.9, 203.0.113.7' }), 201, 60,
      'challenges of one client through the proxy');
    assert.equal(spentClient.status, 429);
    assert.equal((await challenge(server, PROXY, { 'x-forwarded-for': '203.0.113.7' })).status, 429);
    assert.equal((await challenge(server, PROXY, { 'x-forwarded-for': '203.0.113.8' })).status, 201);
    assert.equal((await challenge(server, PROXY, { 'x-forwarded-for': '203.0.113.7, 203.0.113.9' })).status, 201,
      'only the rightmost untrusted hop is the client');
    // Two header lines are one list, in order.
    assert.equal((await challenge(server, PROXY, { 'x-forwarded-for': ['203.0.113.9', '203.0.113.7'] })).status, 429);
    // A chain of trusted hops (fd00::/8) is walked through.
    assert.equal((await challenge(server, PROXY, { 'x-forwarded-for': '203.0.113.7, fd00::5' })).status, 429);
    // The proxy's own requests (no header) count as the proxy's.
    assert.equal((await challenge(server, PROXY)).status, 201);
    // A trusted hop that forwarded something that is no address: 400.
    const bad = await challenge(server, PROXY, { 'x-forwarded-for': '203.0.113.7, unknown' });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error, 'invalid_request');
    assert.match(bad.body.error_description, /X-Forwarded-For/);
  } finally {
    await server.stop();
    await temp.cleanup();
  }
});

/** Opens n keep-alive connections from a local address, sends GET
 * /healthz on each and resolves the statuses (null: closed unanswered). */
async function healthOnConnections(port, localAddress, n) {
  const sockets = [];
  const answers = [];
  for (let i = 0; i < n; i++) {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(socket);
    answers.push(new Promise((resolve) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
        const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (match) resolve(Number(match[1]));
      });
      socket.on('close', () => resolve(null));
      socket.on('error', () => resolve(null));
    }));
    await new Promise((resolve) => socket.on('connect', resolve).on('error', resolve));
  }
  // Every connection is open before any request is sent.
  for (const socket of sockets) socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const statuses = await Promise.all(answers);
  for (const socket of sockets) socket.destroy();
  return statuses;
}

test('a trusted proxy is not held to the connections of one address', async () => {
  const temp = await initDataDir('proxy-connections');
  const server = await startServer(temp.data, ['--trusted-proxy', PROXY, '--connections-per-address', '2']);
  try {
    const direct = await healthOnConnections(server.port, '127.0.0.1', 4);
    assert.deepEqual(direct.filter((s) => s === 200).length, 2, `direct: ${direct}`);
    const proxied = await healthOnConnections(server.port, PROXY, 6);
    assert.deepEqual(proxied, [200, 200, 200, 200, 200, 200]);
  } finally {
    await server.stop();
    await temp.cleanup();
  }
});

// ---- the login through nginx ----

function freePort(host) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, host, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** Starts nginx in the foreground with this config; resolves {stop()}. */
async function startNginx(dir, config) {
  const file = path.join(dir, 'nginx.conf');
  await writeFile(file, config);
  const child = spawn(NGINX, ['-p', dir, '-c', file, '-e', path.join(dir, 'error.log')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    pid: child.pid,
    exited,
    stderr: () => stderr,
    async stop() {
      process.kill(child.pid, 'SIGQUIT'); // graceful: workers finish, then exit
      return exited;
    },
  };
}

/** Raw bytes over TLS to host:port (trusting ca); resolves everything the
 * other side sent until it closed (or 5 s passed). */
function rawTls(ca, host, port, bytes) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const socket = tls.connect({ host, port, ca }, () => socket.write(bytes));
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', (error) => (chunks.length ? null : reject(error)));
  });
}

/** A fetch over https trusting one CA (node:https), from a chosen local
 * address (a browser of its own); openid-client takes it too. */
function fetchTrusting(ca, localAddress = '127.0.0.1') {
  return (url, options = {}) => new Promise((resolve, reject) => {
    const headers = Object.fromEntries(new Headers(options.headers ?? {}));
    const body = options.body == null ? null : Buffer.from(String(options.body));
    if (body) headers['content-length'] = body.length;
    const request = https.request(url, { method: options.method ?? 'GET', headers, ca, localAddress, agent: false }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          for (const one of [value].flat()) responseHeaders.append(name, one);
        }
        const noBody = [204, 304].includes(response.statusCode);
        resolve(new Response(noBody ? null : Buffer.concat(chunks), { status: response.statusCode, headers: responseHeaders }));
      });
    });
    request.on('error', reject);
    request.end(body ?? undefined);
  });
}

test('a login through nginx terminating TLS: discovery, page, approval, code, userinfo; the client address is the browser\'s', async () => {
  const temp = await initDataDir('proxy-nginx');
  const nginxDir = path.join(temp.dir, 'nginx');
  await mkdir(nginxDir);
  // nginx's workers run as nobody when started as root: they read the
  // certificate and write their temporary files here.
  await chmod(temp.dir, 0o755);
  await chmod(nginxDir, 0o777);
  const key = path.join(nginxDir, 'tls.key');
  const certificate = path.join(nginxDir, 'tls.crt');
  const made = await exec('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', certificate, '-days', '1', '-subj', '/CN=cyberid test front',
    '-addext', `subjectAltName=IP:${FRONT}`]);
  assert.equal(made.code, 0, made.stderr);
  await chmod(key, 0o644);
  const ca = await readFile(certificate);

  const citizen = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };
  await importRegistry(temp, [citizen]);
  const photos = await preparePhotos(temp.dir);
  const platform = await addPlatform(temp.data, temp.dir, {
    name: 'Proxied Shop', redirectUris: ['https://shop.example/cb'], claims: 'realname_verified',
  });

  const frontPort = await freePort(FRONT);
  const issuer = `https://${FRONT}:${frontPort}`;
  // Logins started per client address: a minute's worth (60) at once.
  const server = await startServer(temp.data, ['--issuer', issuer, '--trusted-proxy', PROXY,
    '--authorize-per-address', '1']);
  let nginx = null;
  try {
    nginx = await startNginx(nginxDir, `
daemon off;
master_process on;
worker_processes 1;
pid ${nginxDir}/nginx.pid;
${process.getuid() === 0 ? 'user nobody nogroup;' : ''}
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${nginxDir}/body;
  proxy_temp_path ${nginxDir}/proxy;
  fastcgi_temp_path ${nginxDir}/fastcgi;
  uwsgi_temp_path ${nginxDir}/uwsgi;
  scgi_temp_path ${nginxDir}/scgi;
  client_max_body_size 25m;
  upstream cyberid { server 127.0.0.1:${server.port}; keepalive 8; }
  server {
    listen ${FRONT}:${frontPort} ssl;
    ssl_certificate ${certificate};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://cyberid;
      proxy_bind ${PROXY};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`);
    const customFetch = fetchTrusting(ca);
    // nginx is up when its TLS port answers.
    let up = null;
    for (let i = 0; i < 100 && !up; i++) {
      up = await customFetch(`${issuer}/healthz`).catch(() => null);
      if (!up) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(up, `nginx did not come up: ${nginx.stderr()}`);
    assert.equal(up.status, 200);

    // The citizen enrolls through the front too (the app trusts its CA).
    process.env.CYBERID_CA_FILE = certificate;
    const wallet = path.join(temp.dir, 'wallet.json');
    const enrolled = await enrollCitizen(issuer, wallet, citizen, photos);
    assert.match(enrolled.web_number, /^[0-9A-HJKMNP-TV-Z]{16}$/);

    const config = await client.discovery(new URL(issuer), platform.client_id, platform.client_secret,
      client.ClientSecretBasic(platform.client_secret), { [client.customFetch]: customFetch });
    assert.equal(config.serverMetadata().token_endpoint, `${issuer}/token`);

    // A browser at 127.0.0.5 that writes an X-Forwarded-For of its own
    // (anyone can): nginx adds the address it saw to the right, and that
    // is the client the service counts.
    const checks = await loginChecks();
    const url = authorizationUrl(config, platform, checks, 'openid realname_verified');
    const browserA = fetchTrusting(ca, '127.0.0.5');
    const page = await browserA(url.href, { headers: { 'x-forwarded-for': '198.51.100.23' } });
    const html = await page.text();
    assert.equal(page.status, 200, html);
    const shown = shownUserCode(html);
    const loginId = pageLoginId(html);
    const approval = await appLogin(wallet, shown, '--approve');
    assert.equal(approval.code, 0, approval.stderr);
    let decided = null;
    for (let i = 0; i < 100; i++) {
      const poll = await customFetch(`${issuer}/v1/authorize/status/${loginId}`);
      decided = await poll.json();
      if (decided.status !== 'pending') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(decided.status, 'approved', JSON.stringify(decided));
    const tokens = await client.authorizationCodeGrant(config, new URL(decided.redirect_to), {
      pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true,
    });
    assert.equal(tokens.claims().iss, issuer);
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
    assert.equal(info.realname_verified, true);

    // The limit follows the browser, not the proxy nor what the browser
    // wrote: 127.0.0.5's minute of logins (a bucket of 60, with the one
    // above, refilled at one a second), each claiming another address,
    // then it is sent back; a second browser, through the same proxy,
    // still starts one. The bucket refills while the logins are made (a
    // sanitizer build makes them slowly): as many more are let through as
    // seconds went by, and no more.
    const burstStarted = Date.now();
    let accepted = 1, over = null;
    while (over === null && accepted < 400) {
      const more = await browserA(url.href, { headers: { 'x-forwarded-for': `198.51.100.${accepted % 250}` } });
      if (more.status === 200) accepted++;
      else over = more;
    }
    const refilled = Math.ceil((Date.now() - burstStarted) / 1000);
    assert.ok(accepted >= 60 && accepted <= 60 + refilled,
      `${accepted} logins from browser A before the limit (60, plus ${refilled} s of refill)`);
    assert.ok(over !== null);
    assert.equal(over.status, 302);
    assert.equal(new URL(over.headers.get('location')).searchParams.get('error'), 'temporarily_unavailable');
    const browserB = fetchTrusting(ca, '127.0.0.6');
    assert.equal((await browserB(url.href)).status, 200, 'another browser behind the same proxy');
    const [{ n }] = await sql(temp.data, 'SELECT COUNT(*) AS n FROM oidc_login');
    assert.equal(Number(n), accepted + 1, 'the refused login stored nothing');

    // Framing the front refuses itself (docs/deployment.md): through nginx
    // each gets exactly one answer (the service, reached directly, answers
    // the same requests once too: http.test.mjs).
    const framing = {
      'a malformed Content-Length': 'POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n',
      'a negative Content-Length': 'POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n',
      'a head of 36.5 KB': `GET /healthz HTTP/1.1\r\nHost: localhost\r\n${
        Array.from({ length: 73 }, (_, i) => `X-Filler-${i}: ${'a'.repeat(486)}\r\n`).join('')}\r\n`,
    };
    for (const [what, request] of Object.entries(framing)) {
      const answer = await rawTls(ca, FRONT, frontPort, request);
      const heads = answer.match(/^HTTP\/1\.[01] \d{3}/gm) ?? [];
      assert.equal(heads.length, 1, `${what}: one answer, not ${heads.length}: ${answer.slice(0, 300)}`);
      assert.match(heads[0], / 4\d\d$/, `${what}: ${heads[0]}`);
    }
  } finally {
    delete process.env.CYBERID_CA_FILE;
    if (nginx) {
      const stopped = await nginx.stop();
      assert.equal(stopped.code, 0, `nginx exits 0 on SIGQUIT: ${nginx.stderr()}`);
    }
    await server.stop();
    await temp.cleanup();
  }
});
