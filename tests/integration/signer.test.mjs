// Keys apart: the process that holds the listening socket holds none of the
// data folder's keys, and a dead signer costs a 503, not a hang.
//
// After a citizen enrolls (a certificate issued, a record sealed and
// opened), the test finds every process holding the listening socket
// (/proc/net/tcp and /proc/PID/fd), reads all of its readable memory
// (/proc/PID/maps, /proc/PID/mem) and looks for every key of keys/ in every
// encoding: the raw symmetric keys, each EC private scalar big- and
// little-endian, the PEM text and the PKCS#8 DER; and checks that no
// descriptor of it is a file under keys/. The same search run on the signer
// process finds them, so the search does see keys where they are.
//
// With CYBERID_TEST_KEYS=softhsm the keys are in a SoftHSM2 token and
// cannot be read to be searched for: keys/ must hold nothing but
// pkcs11.json, the token's PIN must not be in the listening process's
// memory, and that process must neither map the PKCS#11 module nor hold a
// descriptor of the token folder; the signer maps the module.
//
// Then the signer is killed (SIGKILL): the next OCSP request gets 503 with
// Retry-After, the one after it is answered by a new signer; past five
// restarts in a minute serve stops by itself, exit 1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { initDataDir, keyStore, processMemory, startServer, tempDir } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen, exec } from './lib/citizen.mjs';

const person = { id: nationalId('110105', '1980-02-02', '015'), name: '签名者', birth: '1980-02-02', photo: 'img62.jpg' };

let temp, server, work;

before(async () => {
  temp = await initDataDir('signer');
  work = await tempDir('signer-work');
  await importRegistry(temp, [person]);
  server = await startServer(temp.data);
  const photos = await preparePhotos(work.dir);
  await enrollCitizen(server.url, path.join(work.dir, 'wallet'), person, photos);
});

after(async () => {
  if (server) await server.stop();
  if (temp) await temp.cleanup();
  if (work) await work.cleanup();
});

/** PIDs with a descriptor on the socket listening on port (IPv4). */
async function listeners(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const table = (await readFile('/proc/net/tcp', 'utf8')).trim().split('\n').slice(1);
  const inodes = new Set(table.map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1].endsWith(`:${hex}`) && f[3] === '0A').map((f) => f[9]));
  assert.ok(inodes.size > 0, 'the listening socket is in /proc/net/tcp');
  const pids = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    let fds = [];
    try { fds = await readdir(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match && inodes.has(match[1])) { pids.push(Number(pid)); break; }
    }
  }
  return pids;
}

/** Every encoding of every key of keys/ that must not be found. */
async function keyNeedles(keysDir) {
  const needles = [];
  for (const file of await readdir(keysDir)) {
    const bytes = await readFile(path.join(keysDir, file));
    if (!file.endsWith('.pem')) {
      needles.push({ what: `${file} raw`, bytes });
      continue;
    }
    const key = createPrivateKey(bytes);
    const scalar = Buffer.from(key.export({ format: 'jwk' }).d, 'base64url');
    needles.push({ what: `${file} scalar big-endian`, bytes: scalar });
    needles.push({ what: `${file} scalar little-endian`, bytes: Buffer.from(scalar).reverse() });
    needles.push({ what: `${file} PKCS#8 DER`, bytes: key.export({ format: 'der', type: 'pkcs8' }) });
    const body = bytes.toString('utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const line of body) needles.push({ what: `${file} PEM line`, bytes: Buffer.from(line) });
  }
  return needles;
}

/** The signer: serve's child (made by whichever of its threads started it). */
async function signerPid(servePid) {
  const children = [];
  for (const task of await readdir(`/proc/${servePid}/task`)) {
    const listed = await readFile(`/proc/${servePid}/task/${task}/children`, 'utf8').catch(() => '');
    children.push(...listed.trim().split(/\s+/).filter(Boolean).map(Number));
  }
  assert.equal(children.length, 1, 'serve has one child, the signer');
  return children[0];
}

test('keys in a PKCS#11 token: none in keys/, no PIN, module or token file in the process that listens',
  { skip: keyStore !== 'softhsm' && 'keys are files (CYBERID_TEST_KEYS=softhsm runs it)' }, async () => {
    const keysDir = path.join(temp.data, 'keys');
    assert.deepEqual(await readdir(keysDir), ['pkcs11.json']);
    const descriptor = JSON.parse(await readFile(path.join(keysDir, 'pkcs11.json'), 'utf8'));
    const pin = (await readFile(descriptor.pin_file, 'utf8')).trim();
    const tokenDir = path.dirname(process.env.SOFTHSM2_CONF);
    const pids = await listeners(server.port);
    assert.deepEqual(pids, [server.child.pid], 'only serve listens: the signer holds no socket');
    for (const pid of pids) {
      const memory = await processMemory(pid);
      assert.ok(memory.length > 1 << 20, 'the memory was read');
      assert.equal(memory.indexOf(Buffer.from(pin)), -1, `the PIN in the memory of ${pid}`);
      assert.ok(!(await readFile(`/proc/${pid}/maps`, 'utf8')).includes('libsofthsm2'),
        'the network process does not load the PKCS#11 module');
      for (const fd of await readdir(`/proc/${pid}/fd`)) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        assert.ok(!target.startsWith(keysDir) && !target.startsWith(tokenDir) &&
          target !== descriptor.pin_file, `descriptor ${fd} is ${target}`);
      }
    }
    const signer = await signerPid(server.child.pid);
    assert.ok((await readFile(`/proc/${signer}/maps`, 'utf8')).includes('libsofthsm2'),
      'the signer uses the token');
  });

test('no process that listens holds a key, in any encoding, or a file of keys/',
  { skip: keyStore !== 'files' && 'keys are in a PKCS#11 token, not files to search for' }, async () => {
  const keysDir = path.join(temp.data, 'keys');
  const needles = await keyNeedles(keysDir);
  assert.ok(needles.length >= 20, 'every key file is searched for');
  const pids = await listeners(server.port);
  assert.deepEqual(pids, [server.child.pid], 'only serve listens: the signer holds no socket');
  for (const pid of pids) {
    const memory = await processMemory(pid);
    assert.ok(memory.length > 1 << 20, 'the memory was read');
    for (const needle of needles)
      assert.equal(memory.indexOf(needle.bytes), -1, `${needle.what} in the memory of ${pid}`);
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      assert.ok(!target.startsWith(keysDir), `descriptor ${fd} is ${target}`);
    }
  }
  // The same search finds the keys where they are: in the signer.
  const signer = await signerPid(server.child.pid);
  const memory = await processMemory(signer);
  for (const file of ['master.key', 'index-hmac.key', 'pairwise-hmac.key']) {
    const needle = needles.find((n) => n.what === `${file} raw`);
    assert.ok(memory.indexOf(needle.bytes) >= 0, `${file} is in the signer`);
  }
});

/** POST /ocsp for the issuing CA's own certificate (status unknown, but a
 * signed answer): resolves the HTTP status and headers. */
async function ocsp() {
  const request = path.join(work.dir, 'ocsp.der');
  const made = await exec('openssl', ['ocsp', '-issuer', path.join(temp.data, 'pki', 'root-ca.pem'),
    '-cert', path.join(temp.data, 'pki', 'issuing-ca.pem'), '-reqout', request, '-no_nonce']);
  assert.equal(made.code, 0, made.stderr);
  const response = await fetch(`${server.url}/ocsp`, {
    method: 'POST', headers: { 'content-type': 'application/ocsp-request' },
    body: await readFile(request),
  });
  await response.arrayBuffer();
  return response;
}

test('a killed signer: 503 with Retry-After, then a new signer answers; too many deaths stop serve', async () => {
  assert.equal((await ocsp()).status, 200);
  const first = await signerPid(server.child.pid);
  process.kill(first, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const during = await ocsp();
  assert.equal(during.status, 503);
  assert.ok(during.headers.get('retry-after'), 'Retry-After');
  assert.equal((await ocsp()).status, 200, 'the restarted signer answers');
  const second = await signerPid(server.child.pid);
  assert.notEqual(second, first);
  assert.ok(server.logs.some((line) => line.includes('"signer.restarted"')));

  // Four more restarts are allowed in the minute; the next death stops serve.
  for (let i = 0; i < 5; i++) {
    process.kill(await signerPid(server.child.pid), 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await ocsp()).status, 503);
  }
  const exit = await new Promise((resolve) => server.child.on('exit', (code) => resolve(code)));
  assert.equal(exit, 1, 'serve stops, exit 1');
  assert.ok(server.logs.some((line) => line.includes('"signer.given_up"')));
  server = null;
});
