// Starts the real cyberid binary for integration tests: `cyberid init` into
// a temporary data folder, `cyberid serve` on 127.0.0.1 with a free port
// (port 0, read back from the "listening" log line), and a clean SIGTERM
// stop whose exit status the tests check (a leak under LeakSanitizer or a
// crash makes it non-zero).
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const binary = process.env.CYBERID_BINARY;
export const sharedDir = process.env.CYBERID_SHARED_DIR;
if (!binary) throw new Error('CYBERID_BINARY is not set (run through ctest)');

/** Runs cyberid with args; resolves {code, stdout, stderr}, never rejects. */
export function run(args, options = {}) {
  return new Promise((resolve) => {
    execFile(binary, args, { maxBuffer: 16 << 20, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Runs one SQL text on a data folder's database with the sqlite3 CLI
 * (the Debian package sqlite3), beside a running service if need be (WAL,
 * a busy timeout); resolves the rows of its last statement (-json), []
 * when it returns none. How tests look at what was (not) written. */
export function sql(data, statement) {
  return new Promise((resolve, reject) => {
    execFile('sqlite3', ['-json', path.join(data, 'cyberid.db'), '.timeout 5000', statement],
      { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`sqlite3 failed (is the sqlite3 package installed?): ${stderr || error.message}`));
        else resolve(stdout.trim() ? JSON.parse(stdout) : []);
      });
  });
}

/** A string as an SQL literal. */
export const sqlText = (text) => `'${String(text).replaceAll("'", "''")}'`;

/** A new temporary folder; removed by the returned cleanup(). */
export async function tempDir(label) {
  const dir = await mkdtemp(path.join(tmpdir(), `cyberid-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A temporary folder holding an initialised data folder at ./data. */
export async function initDataDir(label) {
  const temp = await tempDir(label);
  const data = path.join(temp.dir, 'data');
  const result = await run(['init', '--data', data]);
  if (result.code !== 0) throw new Error(`cyberid init failed: ${result.stderr}`);
  return { ...temp, data };
}

/** Starts `cyberid serve`; resolves {url, port, logs, stop()}. */
export function startServer(data, extraArgs = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['serve', '--data', data, '--listen', '127.0.0.1:0', ...extraArgs],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    const logs = [];
    let pending = '';
    let started = false;
    const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        logs.push(line);
        let entry = null;
        try { entry = JSON.parse(line); } catch { /* sanitizer output */ }
        if (!started && entry && entry.event === 'listening') {
          started = true;
          const url = `http://127.0.0.1:${entry.port}`;
          resolve({
            url, port: entry.port, logs, child,
            async stop() {
              child.kill('SIGTERM');
              const result = await exited;
              if (pending) logs.push(pending);
              return result;
            },
          });
        }
      }
    });
    exited.then(({ code }) => {
      if (!started) reject(new Error(`cyberid serve exited ${code}: ${logs.join('\n')}${pending}`));
    });
  });
}
