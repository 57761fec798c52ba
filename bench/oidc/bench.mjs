// The one closed-loop load generator `make bench` drives both servers with:
// keep-alive HTTP/1.1, C concurrent workers for D seconds, the same harness
// and the same latency accounting for every flow. Flows:
//   peer-login     oidc-provider (../shared/reference/oidc-provider-peer):
//                  /auth, its programmatic interaction (login_hint, no UI),
//                  /token, /me: a complete code + PKCE login with userinfo
//   peer-cc        oidc-provider: client_credentials at /token alone
//   cyberid-login  cyberid: /authorize (the QR page), the app's approval
//                  (a device-signed ES256 JWS, made here with node:crypto as
//                  cyberid-app would, worker w signing with the w % n-th of
//                  the n enrolled wallets), the page's status poll, /token,
//                  /userinfo: a complete code + PKCE login
//   cyberid-refresh cyberid: refresh_token grant at /token alone (cyberid has
//                  no client_credentials grant: platforms only ever act for a
//                  citizen), each worker rotating its own refresh token
// Usage: [WARMUP=S] node bench.mjs FLOW C D CONFIG.json ; prints one JSON line.
// With SERVER_PID and CLK_TCK set (run.sh sets them), the server's CPU time
// (utime+stime from /proc/PID/stat) is read at the start and the end of the
// timed window: the process's own, its live children's (cyberid's signer
// process; found by parent in /proc/*/stat) and its reaped children's
// (cutime+cstime: a signer that was restarted), so the warm-up is not charged to the operations
// counted; the generator's own CPU over the same window is reported too,
// since it shares the cores with the server. DB_PIDS (comma-separated
// postmaster PIDs, for cyberid on PostgreSQL or Citus) adds the database's
// CPU: each postmaster's own and its children's, live (every backend,
// /proc/*/stat by parent) and reaped (cutime+cstime).
import http from 'node:http';
import crypto from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';

const [flow, C = '32', D = '10', configFile] = process.argv.slice(2);
const config = configFile ? JSON.parse(readFileSync(configFile, 'utf8')) : {};
const base = new URL(config.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(C) });

function req(method, path, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: base.hostname, port: base.port, method, path, agent, headers }, (res) => {
      const chunks = []; res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    r.on('error', reject); if (body) r.write(body); r.end();
  });
}
const basic = (id, s) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;
const form = (o) => new URLSearchParams(o).toString();
function post(path, auth, fields) {
  const body = form(fields);
  return req('POST', path, { headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }, body });
}
function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

// ---- oidc-provider ----
async function peerLogin(i) {
  const { verifier, challenge } = pkce();
  const redirect = 'http://127.0.0.1:8080/cb';
  const q = new URLSearchParams({ client_id: 'rp', response_type: 'code', scope: 'openid', redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256', state: 's', nonce: 'n', login_hint: `user-${i % 10000}` });
  const jar = new Map(); let path = `/auth?${q}`; let loc;
  for (let hop = 0; hop < 5; hop += 1) {
    const r = await req('GET', path, { headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of [].concat(r.headers['set-cookie'] || [])) { const [kv] = c.split(';'); const j = kv.indexOf('='); jar.set(kv.slice(0, j), kv.slice(j + 1)); }
    loc = new URL(r.headers.location, `${base.origin}${path}`);
    if (loc.href.startsWith(redirect)) break;
    path = loc.pathname + loc.search;
  }
  const t = await post('/token', basic('rp', 'rp-secret'), { grant_type: 'authorization_code', code: loc.searchParams.get('code'), redirect_uri: redirect, code_verifier: verifier });
  if (t.status !== 200) throw new Error(t.body);
  const u = await req('GET', '/me', { headers: { authorization: `Bearer ${JSON.parse(t.body).access_token}` } });
  if (u.status !== 200) throw new Error(`userinfo ${u.status} ${u.body}`);
}
async function peerCc() {
  const t = await post('/token', basic('cc', 'cc-secret'), { grant_type: 'client_credentials', scope: 'api:read' });
  if (t.status !== 200) throw new Error(t.body);
}

// ---- cyberid ----
const b64url = (b) => Buffer.from(b).toString('base64url');
// Every enrolled citizen's wallet (run.sh enrolls several); worker w signs
// with wallet w % n, so the server sees n certificates in turn.
let wallets = [];
if (flow.startsWith('cyberid')) {
  wallets = [].concat(config.wallets || config.wallet).map((file) => {
    const wallet = JSON.parse(readFileSync(file, 'utf8'));
    return { key: crypto.createPrivateKey(wallet.private_key),
      certificateB64: wallet.certificate.replace(/-----[^-]+-----|\s/g, '') };
  });
}
function deviceToken(wallet, method, path, extra) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'cyberid-device+jwt', x5c: [wallet.certificateB64] }));
  const payload = b64url(JSON.stringify({ aud: config.issuer, htm: method, htu: path, iat: now, exp: now + 60, jti: crypto.randomBytes(18).toString('base64url'), ...extra }));
  const signature = crypto.sign('sha256', Buffer.from(`${header}.${payload}`), { key: wallet.key, dsaEncoding: 'ieee-p1363' });
  return `Device ${header}.${payload}.${b64url(signature)}`;
}
async function cyberidLogin(i, worker) {
  const wallet = wallets[worker % wallets.length];
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({ client_id: config.client_id, response_type: 'code', scope: 'openid realname_verified', redirect_uri: config.redirect_uri, code_challenge: challenge, code_challenge_method: 'S256', state: 's', nonce: 'n' });
  const page = await req('GET', `/authorize?${q}`);
  if (page.status !== 200) throw new Error(`authorize ${page.status}`);
  const userCode = /id="user-code"[^>]*>([^<]+)</.exec(page.body)[1].replace(/[^A-Z]/g, '');
  const loginId = /v1\/authorize\/status\/([A-Za-z0-9_-]+)/.exec(page.body)[1];
  const approvePath = `/v1/login/${userCode}/approve`;
  const approved = await req('POST', approvePath, { headers: { authorization: deviceToken(wallet, 'POST', approvePath, { user_code: userCode, release: ['realname_verified'] }), 'content-type': 'application/json', 'content-length': 2 }, body: '{}' });
  if (approved.status !== 200) throw new Error(`approve ${approved.status} ${approved.body}`);
  const status = await req('GET', `/v1/authorize/status/${loginId}`);
  const redirect = new URL(JSON.parse(status.body).redirect_to);
  const t = await post('/token', basic(config.client_id, config.client_secret), { grant_type: 'authorization_code', code: redirect.searchParams.get('code'), redirect_uri: config.redirect_uri, code_verifier: verifier });
  if (t.status !== 200) throw new Error(`token ${t.status} ${t.body}`);
  const tokens = JSON.parse(t.body);
  const u = await req('GET', '/userinfo', { headers: { authorization: `Bearer ${tokens.access_token}` } });
  if (u.status !== 200) throw new Error(`userinfo ${u.status} ${u.body}`);
  return tokens;
}
const refreshTokens = [];
async function cyberidRefresh(i, worker) {
  if (!refreshTokens[worker]) refreshTokens[worker] = (await cyberidLogin(i, worker)).refresh_token;
  const t = await post('/token', basic(config.client_id, config.client_secret), { grant_type: 'refresh_token', refresh_token: refreshTokens[worker] });
  if (t.status !== 200) throw new Error(`refresh ${t.status} ${t.body}`);
  refreshTokens[worker] = JSON.parse(t.body).refresh_token;
}

const flows = { 'peer-login': peerLogin, 'peer-cc': peerCc, 'cyberid-login': cyberidLogin, 'cyberid-refresh': cyberidRefresh };
const fn = flows[flow];
if (!fn) { console.error(`unknown flow ${flow}`); process.exit(2); }
// Warm-up (connections, caches, the refresh flow's first login) outside the clock.
await Promise.all(Array.from({ length: Number(C) }, (_, w) => fn(w, w).catch(() => {})));
// utime + stime of a process in seconds; fields 14 and 15 of /proc/PID/stat,
// counted after the ')' that ends the command name (which may hold spaces).
const serverPid = process.env.SERVER_PID;
const dbPids = (process.env.DB_PIDS || '').split(',').filter(Boolean);
const clkTck = Number(process.env.CLK_TCK || 100);
// Fields after the command name: [1] ppid, [11] utime, [12] stime,
// [13] cutime, [14] cstime.
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch { return null; } // gone meanwhile
}
function serverCpuSeconds() {
  if (!serverPid) return null;
  const fields = statFields(serverPid);
  let ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = statFields(entry);
    if (child && child[1] === serverPid) ticks += Number(child[11]) + Number(child[12]);
  }
  return ticks / clkTck;
}
function dbCpuSeconds() {
  if (dbPids.length === 0) return null;
  let ticks = 0;
  for (const pid of dbPids) {
    const fields = statFields(pid);
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields && dbPids.includes(fields[1])) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / clkTck;
}
// WARMUP (seconds, default 0): the flow runs that long first, uncounted,
// so that a server whose caches the setup emptied is measured warm.
const warmup = Number(process.env.WARMUP || 0);
if (warmup > 0) {
  const until = Date.now() + warmup * 1000;
  let step = 0;
  await Promise.all(Array.from({ length: Number(C) }, async (_, worker) => {
    while (Date.now() < until) {
      try { await fn(step++, worker); } catch { /* counted in the timed window only */ }
    }
  }));
}
let n = 0; let errors = 0; const lat = [];
const cpu0 = serverCpuSeconds(); const db0 = dbCpuSeconds(); const self0 = process.cpuUsage(); const t0 = process.hrtime.bigint();
const end = Date.now() + Number(D) * 1000;
await Promise.all(Array.from({ length: Number(C) }, async (_, worker) => {
  while (Date.now() < end) {
    const t = process.hrtime.bigint();
    try { await fn(n, worker); n += 1; lat.push(Number(process.hrtime.bigint() - t) / 1e6); } catch (e) { errors += 1; if (errors < 3) console.error(e.message); }
  }
}));
const cpu1 = serverCpuSeconds(); const db1 = dbCpuSeconds(); const self1 = process.cpuUsage(self0);
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
lat.sort((a, b) => a - b);
const p = (x) => lat[Math.floor(lat.length * x)]?.toFixed(1);
const cpu = cpu0 === null ? {} : {
  wall_s: +wall.toFixed(3),
  server_cpu_s: +(cpu1 - cpu0).toFixed(2),
  server_cpu_ms_per_op: n ? +((cpu1 - cpu0) * 1000 / n).toFixed(3) : null,
  generator_cpu_ms_per_op: n ? +((self1.user + self1.system) / 1000 / n).toFixed(3) : null,
};
if (db0 !== null && n) {
  cpu.db_cpu_ms_per_op = +((db1 - db0) * 1000 / n).toFixed(3);
  cpu.total_cpu_ms_per_op = +(cpu.server_cpu_ms_per_op + cpu.db_cpu_ms_per_op).toFixed(3);
}
console.log(JSON.stringify({ flow, concurrency: Number(C), seconds: Number(D), ok: n, errors, per_sec: +(n / Number(D)).toFixed(1), p50_ms: p(0.5), p99_ms: p(0.99), ...cpu }));
process.exit(errors > n / 100 ? 1 : 0);
