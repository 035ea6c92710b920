// Write a Pyodide memory snapshot of an interpreter that has started and imported
// qakb.engine, so the browser's search worker can skip Python's start-up.
//
//   node pyodide_snapshot.mjs <node_modules/pyodide> <site pyodide-lock.json> <engine package> <out.bin>
//
// Run by the qakb mkdocs plugin (search_assets.py) at site build time, which caches
// the result by the Pyodide build and the engine's wheel. The snapshot holds only the wasm
// heap, not the file system or any JavaScript object, so nothing may stay referenced from
// Python to JavaScript when it is taken; loadPackage leaves such references, so the wheel
// the site's lock file lists (beside it, checked against the lock's sha256) is unpacked
// with unpackArchive instead, and the engine imported with runPython, keeping no proxy.
// The browser then installs the same wheel (search-worker.js, wheel.mjs). Pyodide refuses a snapshot
// made by another Pyodide build.
import nodeCrypto from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, lockPath, enginePackage, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node pyodide_snapshot.mjs <pyodide dir> <site lock file> <engine package> <out file>");
  process.exit(2);
}

// A fixed clock and random source while the snapshot is made: file times, hash seeds
// and random states in the heap then depend on the inputs alone.
// (Pyodide reads random bytes through node:crypto's randomFillSync in Node.)
let state = 0;
function fillDeterministically(view) {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < bytes.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return view;
}
nodeCrypto.randomFillSync = fillDeterministically;
globalThis.crypto.getRandomValues = fillDeterministically;
Date.now = () => 315532800000; // 1980-01-01, as the engine wheel's entries
let clock = 0;
performance.now = () => (clock += 1);

process.argv[1] = "pyodide_snapshot.mjs"; // sys.argv[0] would hold the checkout's path

const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const entry = JSON.parse(readFileSync(lockPath, "utf-8")).packages[enginePackage];
const wheel = readFileSync(path.join(path.dirname(lockPath), entry.file_name));
if (nodeCrypto.createHash("sha256").update(wheel).digest("hex") !== entry.sha256) {
  console.error(`${entry.file_name} does not match its sha256 in ${lockPath}`);
  process.exit(1);
}

const pyodide = await loadPyodide({
  indexURL: path.resolve(pyodideDir) + path.sep,
  args: [],
  env: { PYTHONHASHSEED: "0", HOME: "/home/pyodide" },
  _makeSnapshot: true,
});
pyodide.unpackArchive(new Uint8Array(wheel), "wheel");
pyodide.runPython("import importlib; importlib.invalidate_caches(); import qakb.engine");

// The heap's unused top is zeros; a shorter snapshot restores the same memory, since a
// fresh heap is zeros there too. The length stays a multiple of 16 (Pyodide reads the
// header as 32-bit words).
const snapshot = pyodide.makeMemorySnapshot();
let end = snapshot.length;
while (end > 0 && snapshot[end - 1] === 0) {
  end--;
}
writeFileSync(outPath, snapshot.subarray(0, Math.ceil(end / 16) * 16));
