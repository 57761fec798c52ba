// Times face-api (tfjs wasm backend, one thread) per stage and end to end on
// the given photos; prints JSON {image: {detect_ms, landmarks_ms,
// descriptor_ms, end_to_end_ms}}. usage: node bench.js RUNS PHOTO...
const fs = require('fs'); const path = require('path');
const ref = path.join(__dirname, 'reference', 'node_modules');
const tf = require(path.join(ref, '@tensorflow/tfjs'));
const wasm = require(path.join(ref, '@tensorflow/tfjs-backend-wasm'));
const faceapi = require(path.join(ref, '@vladmandic/face-api/dist/face-api.node-wasm.js'));
const jpeg = require(path.join(ref, 'jpeg-js'));
const now = () => Number(process.hrtime.bigint()) / 1e6;
(async () => {
  wasm.setThreadsCount && wasm.setThreadsCount(1);
  wasm.setWasmPaths(path.join(ref, '@tensorflow/tfjs-backend-wasm/dist/'));
  await tf.setBackend('wasm'); await tf.ready();
  const md = path.join(ref, '@vladmandic/face-api/model');
  for (const n of ['tinyFaceDetector', 'faceLandmark68TinyNet', 'faceRecognitionNet']) await faceapi.nets[n].loadFromDisk(md);
  const runs = parseInt(process.argv[2], 10); const out = {};
  const opts = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 });
  for (const file of process.argv.slice(3)) {
    const j = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 2048 });
    const rgb = new Int32Array(j.width * j.height * 3);
    for (let i = 0, k = 0; i < j.width * j.height; i++) { rgb[k++] = j.data[4 * i]; rgb[k++] = j.data[4 * i + 1]; rgb[k++] = j.data[4 * i + 2]; }
    const img = tf.tensor3d(rgb, [j.height, j.width, 3], 'int32');
    const t = { detect_ms: 0, landmarks_ms: 0, descriptor_ms: 0, end_to_end_ms: 0 };
    for (let r = -1; r < runs; r++) { // r = -1: warm-up
      let t0 = now();
      const det = await faceapi.nets.tinyFaceDetector.locateFaces(img, opts);
      const t1 = now();
      if (!det.length) break;
      const [crop] = await faceapi.extractFaceTensors(img, [det[0]]);
      const lm = await faceapi.nets.faceLandmark68TinyNet.detectLandmarks(crop); crop.dispose();
      const t2 = now();
      const box = lm.shiftBy(det[0].box.x, det[0].box.y).align(null, { useDlibAlignment: true });
      const [aligned] = await faceapi.extractFaceTensors(img, [box]);
      await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(aligned); aligned.dispose();
      const t3 = now();
      const full = await faceapi.detectSingleFace(img, opts).withFaceLandmarks(true).withFaceDescriptor();
      const t4 = now();
      if (r >= 0 && full) { t.detect_ms += t1 - t0; t.landmarks_ms += t2 - t1; t.descriptor_ms += t3 - t2; t.end_to_end_ms += t4 - t3; }
    }
    for (const k of Object.keys(t)) t[k] /= runs;
    out[path.basename(file)] = t; img.dispose();
  }
  console.log(JSON.stringify({ backend: tf.getBackend(), tfjs: tf.version_core, faceapi: faceapi.version, runs, images: out }));
})().catch((e) => { console.error(e); process.exit(1); });
