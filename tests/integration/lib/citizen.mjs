// Citizens for integration tests: the registry CSV, the photos an
// enrollment sends, and the reference app `cyberid-app` (docs/api.md,
// "Enrollment"). Shared by enroll.test.mjs and the login tests.
//
// Photos (../shared/faces/deepface, see its README and
// tests/face/test_face_liveness.c): p04's img62 is the registry's
// reference, img17 (frontal) the selfie, img59 the same man with his head
// turned to his own right. The "turn_left" frame is img59 mirrored: a copy
// with an EXIF orientation 2 (mirror horizontal) segment, which the
// service's decoder applies. Another person's selfie is p11's img35;
// couple.jpg holds two faces; a plain grey PNG made here holds none.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { readFile, writeFile, symlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { run, sharedDir, binary } from './harness.mjs';

export const appBinary = process.env.CYBERID_APP_BINARY || path.join(path.dirname(binary), 'cyberid-app');
export const faces = path.join(sharedDir, 'faces', 'deepface');
export const WEB_NUMBER = /^[0-9A-HJKMNP-TV-Z]{16}$/; // Crockford base32

/** Runs a program; resolves {code, stdout, stderr}, never rejects. */
export function exec(file, args, options = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 16 << 20, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Runs cyberid-app with args; resolves {code, stdout, stderr}. */
export const app = (args) => exec(appBinary, args);

/** A GB 11643-1999 number: 17 digits and the ISO 7064 MOD 11-2 character. */
export function nationalId(area, birth, sequence) {
  const body = `${area}${birth.replaceAll('-', '')}${sequence}`;
  assert.equal(body.length, 17);
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((total, digit, i) => total + Number(digit) * weights[i], 0);
  return body + '10X98765432'[sum % 11];
}

/** A copy of a JPEG that decoders show mirrored left-right: an APP1 EXIF
 * segment with Orientation = 2 inserted right after SOI. */
export function mirroredJpeg(jpeg) {
  assert.equal(jpeg.readUInt16BE(0), 0xffd8, 'not a JPEG');
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write('II*\0', 0, 'latin1');
  tiff.writeUInt32LE(8, 4);           // first IFD
  tiff.writeUInt16LE(1, 8);           // one entry
  tiff.writeUInt16LE(0x0112, 10);     // Orientation
  tiff.writeUInt16LE(3, 12);          // SHORT
  tiff.writeUInt32LE(1, 14);          // count 1
  tiff.writeUInt16LE(2, 18);          // mirror horizontal
  tiff.writeUInt32LE(0, 22);          // no next IFD
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const marker = Buffer.from([0xff, 0xe1, 0, 0]);
  marker.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), marker, payload, jpeg.subarray(2)]);
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** A 256x256 grey RGB PNG with a soft gradient: an image with no face. */
export function noFacePng() {
  const size = 256;
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < size * 3; x++) raw[y * (size * 3 + 1) + 1 + x] = 96 + ((x + y) >> 4);
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])));
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Writes the registry CSV (photos through a `photos` link to the shared
 * faces folder) and imports it into temp.data. people: [{id, name, birth,
 * photo}] (photo: a file name in the faces folder). */
export async function importRegistry(temp, people) {
  await symlink(faces, path.join(temp.dir, 'photos')).catch(() => {});
  const csv = path.join(temp.dir, 'registry.csv');
  await writeFile(csv, ['national_id,name,birth_date,photo',
    ...people.map((p) => `${p.id},${p.name},${p.birth},photos/${p.photo}`)].join('\n') + '\n');
  const result = await run(['registry', 'import', '--data', temp.data, csv]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  assert.equal(JSON.parse(result.stdout).rejected, 0);
}

/** The photos an enrollment uses, as files (for the app) and bytes. The
 * made ones (mirrored turn frame, no-face PNG) are written into dir. */
export async function preparePhotos(dir) {
  const files = {
    selfie: path.join(faces, 'img17.jpg'),
    right: path.join(faces, 'img59.jpg'),
    left: path.join(dir, 'img59-mirrored.jpg'),
    other: path.join(faces, 'img35.jpg'),
    couple: path.join(faces, 'couple.jpg'),
    noFace: path.join(dir, 'no-face.png'),
  };
  await writeFile(files.left, mirroredJpeg(await readFile(files.right)));
  await writeFile(files.noFace, noFacePng());
  const bytes = {};
  for (const [name, file] of Object.entries(files)) bytes[name] = await readFile(file);
  return { files, bytes };
}

/** The app's enroll command (url null: the wallet's server). */
export function appEnroll(url, wallet, person, photos, extra = []) {
  return app([...(url ? ['--server', url] : []), '--wallet', wallet, 'enroll',
    '--id', person.id, '--name', person.name, '--selfie', photos.files.selfie,
    '--turn-left', photos.files.left, '--turn-right', photos.files.right, ...extra]);
}

/** `cyberid-app show`: the wallet's web number, serial, certificate, server. */
export async function show(wallet) {
  const result = await app(['--wallet', wallet, 'show']);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stdout.includes('PRIVATE KEY'), 'show never prints the private key');
  return JSON.parse(result.stdout);
}

/** Enrolls person (already in the registry) into wallet with the app;
 * resolves what `show` prints, plus the wallet path. */
export async function enrollCitizen(url, wallet, person, photos) {
  const enrolled = await appEnroll(url, wallet, person, photos);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  return { ...await show(wallet), wallet };
}

// ---- enrollment requests made by hand (fetch, node:http) ----

/** A device key (P-256 unless curve says) and its CSR (openssl CLI), for
 * enrollment requests made with fetch. */
export async function makeDeviceKey(dir, name, curve = 'P-256') {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const keyFile = path.join(dir, `${name}.key`);
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const csrFile = path.join(dir, `${name}.csr`);
  const made = await exec('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=cyberid-device',
    '-sha256', '-out', csrFile]);
  assert.equal(made.code, 0, made.stderr);
  return { privateKey, csr: await readFile(csrFile, 'utf8') };
}

/** POST /v1/enroll/challenge, checked. */
export async function challenge(url) {
  const response = await fetch(`${url}/v1/enroll/challenge`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  });
  assert.equal(response.status, 201);
  const body = await response.json();
  assert.match(body.action, /^turn_(left|right)$/);
  assert.equal(typeof body.challenge_id, 'string');
  assert.match(body.nonce, /^[A-Za-z0-9_-]{43}$/);
  return body;
}

/** POST /v1/enroll with a fresh challenge (unless given) and the right
 * turn frame for it, then `change` applied to the body, sent from
 * localAddress when given (node:http; else fetch). Resolves
 * {status, body, headers, challenge}. */
export async function enrollRequest(url, person, photos, device, change = () => {}, given = null, localAddress = null) {
  const c = given || await challenge(url);
  const body = {
    challenge_id: c.challenge_id,
    national_id: person.id,
    name: person.name,
    csr: device.csr,
    selfie: photos.bytes.selfie.toString('base64'),
    turn_frame: (c.action === 'turn_left' ? photos.bytes.left : photos.bytes.right).toString('base64'),
    nonce_signature: cryptoSign('sha256', Buffer.from(c.nonce, 'ascii'), device.privateKey).toString('base64url'),
  };
  change(body, c);
  if (localAddress) return { ...await postFrom(localAddress, `${url}/v1/enroll`, body), challenge: c };
  const response = await fetch(`${url}/v1/enroll`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* checked by the caller */ }
  return { status: response.status, body: json, text, headers: response.headers, challenge: c };
}

export function expectError(result, status, code) {
  assert.equal(result.status, status, `expected ${status} ${code}, got ${result.status} ${result.text}`);
  assert.ok(result.body, `not JSON: ${result.text}`);
  assert.equal(result.body.error, code, result.text);
  assert.equal(typeof result.body.error_description, 'string');
}

/** POST a JSON body with node:http from a chosen local address (fetch
 * cannot pick one). Resolves {status, body, text, headers}. */
export function postFrom(localAddress, url, value) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify(value));
    const request = http.request(url, {
      method: 'POST', localAddress,
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { /* checked by the caller */ }
        resolve({ status: response.statusCode, body: json, text, headers: response.headers });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}
