// The face engine from the command line: `cyberid face detect | compare |
// liveness | descriptor` on real photos (../shared/faces/deepface, see its
// README: p04's img17 frontal, img62 the same man, img59 him turned to his
// own right; p11's img35 someone else; couple.jpg two faces; img47.jpg a
// WebP file), their refusals (exit 1, the error code on stdout, the text on
// stderr) and usage errors (exit 2); and `serve` and `registry import`
// stopping with a clear message when the models are missing or corrupt.
// Every run must end without a sanitizer report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, initDataDir, tempDir, sharedDir } from './lib/harness.mjs';
import { mirroredJpeg, noFacePng } from './lib/citizen.mjs';

const faces = path.join(sharedDir, 'faces', 'deepface');
const photo = (name) => path.join(faces, name);
const modelsDir = process.env.CYBERID_MODELS_DIR;
const THRESHOLD = 0.55;
const TIMEOUT = { timeout: 120_000 }; // a run that hangs fails, never blocks

/** Runs cyberid; asserts the exit status and that no sanitizer spoke. */
async function cyberid(args, code) {
  const result = await run(args, TIMEOUT);
  assert.doesNotMatch(result.stderr, /Sanitizer|runtime error|Segmentation|Aborted/,
    `${args.join(' ')}: ${result.stderr}`);
  assert.equal(result.code, code, `${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result;
}

/** `cyberid face ...` expected to succeed: its JSON output. */
async function face(...args) {
  return JSON.parse((await cyberid(['face', ...args], 0)).stdout);
}

/** `cyberid face ...` expected to be refused with code (exit 1, or 2). */
async function refused(code, args, exit = 1) {
  const result = await cyberid(['face', ...args], exit);
  const body = JSON.parse(result.stdout);
  assert.equal(body.error, code, `${args.join(' ')}: ${result.stdout}`);
  assert.equal(typeof body.error_description, 'string');
  assert.ok(body.error_description.length > 0);
  assert.ok(result.stderr.includes(`cyberid face: ${code}: ${body.error_description}`), result.stderr);
  return body;
}

/** Files made for the refusals, in a temporary folder. */
async function madeFiles(dir) {
  const files = {
    noFace: path.join(dir, 'no-face.png'),
    text: path.join(dir, 'notes.jpg'),
    truncated: path.join(dir, 'half.jpg'),
    mirrored: path.join(dir, 'img59-mirrored.jpg'),
  };
  const img17 = await readFile(photo('img17.jpg'));
  await writeFile(files.noFace, noFacePng());
  await writeFile(files.text, 'not an image, whatever the name says\n');
  await writeFile(files.truncated, img17.subarray(0, img17.length >> 1));
  await writeFile(files.mirrored, mirroredJpeg(await readFile(photo('img59.jpg'))));
  return files;
}

function assertFace(found, width, height) {
  assert.ok(found.score > 0.5 && found.score <= 1, `score ${found.score}`);
  const { x, y, width: w, height: h } = found.box;
  for (const v of [x, y, w, h]) assert.equal(typeof v, 'number');
  assert.ok(w > 20 && h > 20, `box ${JSON.stringify(found.box)}`);
  assert.ok(x + w > 0 && y + h > 0 && x < width && y < height, 'the box overlaps the image');
  assert.equal(found.landmarks.length, 68);
  for (const [px, py] of found.landmarks) {
    assert.ok(px > x - w / 2 && px < x + 1.5 * w && py > y - h / 2 && py < y + 1.5 * h,
      'landmarks lie around the box');
  }
}

test('face detect prints every face with its box, score and landmarks', async () => {
  const temp = await tempDir('face-detect');
  try {
    const files = await madeFiles(temp.dir);
    const [one, two, webp, none] = await Promise.all([
      face('detect', photo('img17.jpg')),
      face('detect', photo('couple.jpg')),
      face('detect', photo('img47.jpg')),
      face('detect', files.noFace),
    ]);
    assert.equal(one.image, photo('img17.jpg'));
    assert.deepEqual([one.width, one.height, one.face_count], [1000, 541, 1]);
    assert.equal(one.faces.length, 1);
    assertFace(one.faces[0], one.width, one.height);

    assert.equal(two.face_count, 2);
    assert.equal(two.faces.length, 2);
    for (const found of two.faces) assertFace(found, two.width, two.height);
    assert.ok(two.faces[0].score >= two.faces[1].score, 'best first');
    const [a, b] = two.faces.map((f) => f.box);
    assert.ok(a.x + a.width <= b.x || b.x + b.width <= a.x, 'two faces side by side');

    // the WebP photo named .jpg, read by its bytes
    assert.deepEqual([webp.width, webp.height, webp.face_count], [1350, 1800, 1]);
    assertFace(webp.faces[0], webp.width, webp.height);

    // no face is an answer for detect, not a refusal
    assert.deepEqual([none.face_count, none.faces], [0, []]);
  } finally {
    await temp.cleanup();
  }
});

test('face compare: same person below 0.55, someone else above', async () => {
  const [same, different] = await Promise.all([
    face('compare', photo('img17.jpg'), photo('img62.jpg')),
    face('compare', photo('img17.jpg'), photo('img35.jpg')),
  ]);
  assert.equal(same.threshold, THRESHOLD);
  assert.equal(same.same_person, true);
  assert.ok(same.distance > 0 && same.distance < THRESHOLD, `distance ${same.distance}`);
  assert.equal(different.same_person, false);
  assert.ok(different.distance >= THRESHOLD, `distance ${different.distance}`);
});

test('face descriptor prints the 128 float32 values exactly', async () => {
  const [first, again, other, compared] = await Promise.all([
    cyberid(['face', 'descriptor', photo('img17.jpg')], 0),
    cyberid(['face', 'descriptor', photo('img17.jpg')], 0),
    cyberid(['face', 'descriptor', photo('img62.jpg')], 0),
    face('compare', photo('img17.jpg'), photo('img62.jpg')),
  ]);
  // one line: {"descriptor": [n, n, ...]}, each n as printf's %.9g
  assert.match(first.stdout, /^\{"descriptor": \[-?[0-9.e+-]+(, -?[0-9.e+-]+){127}\]\}\n$/);
  assert.equal(first.stdout, again.stdout, 'the same photo gives the same numbers');
  const numbers = first.stdout.slice(first.stdout.indexOf('[') + 1, first.stdout.indexOf(']')).split(', ');
  for (const text of numbers) {
    const digits = text.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '');
    assert.ok(digits.length <= 9, `${text}: at most 9 significant digits`);
  }
  const a = JSON.parse(first.stdout).descriptor;
  const b = JSON.parse(other.stdout).descriptor;
  assert.equal(a.length, 128);
  // Each number read as a float32 (a reader's strtof, Float32Array here)
  // and printed again with 9 significant digits gives the same number: the
  // text names exactly one float32, so the engine's bytes can be rebuilt.
  const floats = Float32Array.from(a);
  floats.forEach((f, i) => {
    assert.ok(Number.isFinite(a[i]));
    assert.equal(Number(f.toPrecision(9)), a[i], `${numbers[i]} round-trips through float32`);
  });
  // and they are the numbers compare uses: the same distance
  const other32 = Float32Array.from(b);
  const distance = Math.sqrt(floats.reduce((sum, v, i) => sum + (v - other32[i]) ** 2, 0));
  assert.ok(Math.abs(distance - compared.distance) < 1e-5, `${distance} vs ${compared.distance}`);
});

test('face liveness: the asked turn is live, the other way is not', async () => {
  const temp = await tempDir('face-liveness');
  try {
    const files = await madeFiles(temp.dir);
    const [right, wrongWay, left] = await Promise.all([
      face('liveness', photo('img17.jpg'), photo('img59.jpg'), 'turn_right'),
      face('liveness', photo('img17.jpg'), photo('img59.jpg'), 'turn_left'),
      // mirrored by an EXIF orientation 2 segment: the decoder applies it
      face('liveness', photo('img17.jpg'), files.mirrored, 'turn_left'),
    ]);
    assert.equal(right.challenge, 'turn_right');
    assert.deepEqual([right.live, right.turned, right.same_person], [true, true, true]);
    assert.ok(right.yaw_turned < right.yaw_frontal, 'the nose moved to the image\'s left');
    assert.ok(right.distance < THRESHOLD);
    assert.deepEqual([wrongWay.live, wrongWay.turned, wrongWay.same_person], [false, false, true]);
    assert.deepEqual([left.live, left.turned, left.same_person], [true, true, true]);
    assert.ok(left.yaw_turned > left.yaw_frontal);
  } finally {
    await temp.cleanup();
  }
});

test('face refusals print their error code and exit 1', async () => {
  const temp = await tempDir('face-refusals');
  try {
    const files = await madeFiles(temp.dir);
    const img17 = photo('img17.jpg');
    const couple = photo('couple.jpg');
    await Promise.all([
      refused('unsupported_image_format', ['detect', files.text]),
      refused('unsupported_image_format', ['compare', img17, files.text]),
      refused('unsupported_image_format', ['descriptor', files.text]),
      refused('unsupported_image_format', ['liveness', files.text, img17, 'turn_left']),
      refused('corrupt_image', ['detect', files.truncated]),
      refused('corrupt_image', ['descriptor', files.truncated]),
      refused('multiple_faces', ['compare', img17, couple]),
      refused('multiple_faces', ['descriptor', couple]),
      refused('multiple_faces', ['liveness', couple, img17, 'turn_right']),
      refused('no_face', ['compare', files.noFace, img17]),
      refused('no_face', ['descriptor', files.noFace]),
      refused('no_face', ['liveness', img17, files.noFace, 'turn_right']),
    ]);
  } finally {
    await temp.cleanup();
  }
});

test('face usage errors exit 2', async () => {
  const img = photo('img17.jpg');
  const usages = [
    ['face'], ['face', 'detect'], ['face', 'detect', img, img], ['face', 'compare', img],
    ['face', 'liveness', img, img], ['face', 'descriptor'], ['face', 'descriptor', img, img],
    ['face', 'recognise', img], ['face', '--threads', '2', 'detect', img], ['face', 'detect', img, '--models'],
  ];
  for (const args of usages) {
    const result = await cyberid(args, 2);
    assert.match(result.stderr, /usage: cyberid face/, args.join(' '));
    assert.equal(result.stdout, '');
  }
  await refused('invalid_challenge', ['liveness', img, img, 'turn_up'], 2);
  const missing = await refused('invalid_argument', ['detect', '/nonexistent/photo.jpg'], 2);
  assert.match(missing.error_description, /cannot open \/nonexistent\/photo\.jpg/);
  const help = await cyberid(['face', '--help'], 0);
  for (const command of ['detect', 'compare', 'liveness', 'descriptor']) {
    assert.match(help.stdout, new RegExp(`cyberid face \\[--models DIR\\] ${command} `));
  }
});

test('missing or corrupt models stop face, serve and registry import with a clear error', async () => {
  const temp = await initDataDir('face-models');
  try {
    const empty = path.join(temp.dir, 'empty-models');
    await mkdir(empty);
    const manifest = path.join(empty, 'tiny_face_detector_model-weights_manifest.json');

    const serve = await cyberid(['serve', '--data', temp.data, '--listen', '127.0.0.1:0',
      '--models', empty], 1);
    assert.ok(serve.stderr.includes(`cannot open model file ${manifest}`), serve.stderr);
    assert.match(serve.stderr, /fetch them with scripts\/fetch-models\.sh, or pass --models DIR/);

    await symlink(faces, path.join(temp.dir, 'photos'));
    const csv = path.join(temp.dir, 'registry.csv');
    await writeFile(csv, 'national_id,name,birth_date,photo\n11010519491231002X,张三,1949-12-31,photos/img1.jpg\n');
    const registry = await cyberid(['registry', 'import', '--data', temp.data, '--models', empty, csv], 1);
    assert.ok(registry.stderr.includes(`cannot load the face models from ${empty}`), registry.stderr);
    assert.ok(registry.stderr.includes(manifest), registry.stderr);
    assert.equal(registry.stdout, '', 'nothing imported, no report');

    await refused('model_error', ['--models', empty, 'detect', photo('img17.jpg')]);

    // a copy of the real models with one bit of the recognition net changed
    assert.ok(modelsDir, 'CYBERID_MODELS_DIR is set by ctest');
    const corrupt = path.join(temp.dir, 'corrupt-models');
    await mkdir(corrupt);
    for (const name of await readdir(modelsDir)) await copyFile(path.join(modelsDir, name), path.join(corrupt, name));
    const bin = path.join(corrupt, 'face_recognition_model.bin');
    const weights = await readFile(bin);
    weights[weights.length >> 1] ^= 0x01;
    await writeFile(bin, weights);
    const corruptServe = await cyberid(['serve', '--data', temp.data, '--listen', '127.0.0.1:0',
      '--models', corrupt], 1);
    assert.ok(corruptServe.stderr.includes(`model file ${bin} is corrupt: its SHA-256 does not match`),
      corruptServe.stderr);
    const corruptImport = await cyberid(['registry', 'import', '--data', temp.data, '--models', corrupt, csv], 1);
    assert.ok(corruptImport.stderr.includes(bin), corruptImport.stderr);
    const corruptFace = await refused('model_error', ['--models', corrupt, 'descriptor', photo('img17.jpg')]);
    assert.ok(corruptFace.error_description.includes(bin));
  } finally {
    await temp.cleanup();
  }
});
