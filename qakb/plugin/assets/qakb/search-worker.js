// Runs the qakb search engine (qakb.search, pure Python) in Pyodide, off the page's
// main thread: booting the interpreter takes seconds of CPU, and the page (and
// Material's keyword search) must stay responsive meanwhile.
//
// Protocol (module worker, started by widget.js):
//   in:  {type: "boot", runtimeURL, snapshotURL, engineURL, indexURL, indexFiles, contentHash}
//        {type: "search", id, query, k}
//   out: {type: "ready", bootMs}
//        {type: "failed", message}
//        {type: "results", id, hits: "<JSON from Engine.search_json>", searchMs}
//        {type: "results", id, superseded: true}   a newer search arrived before this one ran
//
// No backlog: a search waits in `pending` until the worker is free, and a newer one
// replaces it there, so typing fast never queues searches nobody will see.

const INDEX_PATH = "/home/pyodide/search_index";

let searchJson = null;
let pending = null;
let draining = false;

self.addEventListener("message", async ({ data }) => {
  if (data.type === "boot") {
    const started = performance.now();
    try {
      searchJson = await boot(data);
      self.postMessage({ type: "ready", bootMs: performance.now() - started });
    } catch (error) {
      self.postMessage({ type: "failed", message: String(error && error.message ? error.message : error) });
    }
  } else if (data.type === "search") {
    if (pending) {
      self.postMessage({ type: "results", id: pending.id, superseded: true });
    }
    pending = data;
    if (!draining) {
      draining = true;
      setTimeout(runPending, 0); // after any messages already queued behind this one
    }
  }
});

function runPending() {
  const request = pending;
  pending = null;
  if (request) {
    const started = performance.now();
    try {
      const hits = searchJson(request.query, request.k);
      self.postMessage({ type: "results", id: request.id, hits, searchMs: performance.now() - started });
    } catch (error) {
      self.postMessage({ type: "results", id: request.id, error: String(error.message || error) });
    }
  }
  if (pending) {
    setTimeout(runPending, 0);
  } else {
    draining = false;
  }
}

async function boot({ runtimeURL, snapshotURL, engineURL, indexURL, indexFiles, contentHash }) {
  // Downloads overlap the interpreter's start-up, which dominates the cold start.
  const snapshot = snapshotURL ? fetchBytes(snapshotURL) : null;
  snapshot?.catch(() => {}); // a failed download is handled where it is used
  const engine = fetchBytes(engineURL);
  const index = fetchIndex(indexURL, indexFiles);
  const { loadPyodide } = await import(new URL("pyodide.mjs", runtimeURL).href);
  const pyodide = await startInterpreter(loadPyodide, runtimeURL, snapshot);

  // From a snapshot qakb.search is already imported, but the file system is not part of
  // the snapshot: the engine is unpacked either way, so both paths end in the same state.
  const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
  pyodide.unpackArchive(await engine, "zip", { extractDir: sitePackages });
  pyodide.FS.mkdirTree(INDEX_PATH);
  for (const [name, bytes] of await index) {
    pyodide.FS.writeFile(`${INDEX_PATH}/${name}`, bytes);
  }
  pyodide.runPython("import importlib; importlib.invalidate_caches()");
  const { Engine } = pyodide.pyimport("qakb.search");
  const engineInstance = Engine.open.callKwargs(INDEX_PATH, { content_hash: contentHash ?? null });
  // One proxy to the bound method: each query is a direct call, not a runPython.
  return engineInstance.search_json;
}

// The site build ships a memory snapshot of an interpreter that has already started
// and imported qakb.search (qakb/plugin/pyodide_snapshot.mjs): restoring it skips
// Python's start-up. Any problem with it (missing, refused by this Pyodide build)
// falls back to the normal start.
async function startInterpreter(loadPyodide, runtimeURL, snapshot) {
  if (snapshot) {
    try {
      return await loadPyodide({ indexURL: runtimeURL, _loadSnapshot: snapshot });
    } catch (error) {
      console.warn("qakb: the Pyodide snapshot could not be used; starting Python without it:", String(error.message || error));
    }
  }
  return loadPyodide({ indexURL: runtimeURL });
}

// Only the files the engine reads, named with their sha256 by the site build: the
// engine verifies each against the manifest, and the hash in the URL makes a rebuilt
// index bypass any cached older file. The manifest is revalidated on every boot.
async function fetchIndex(indexURL, indexFiles) {
  const names = Object.keys(indexFiles);
  const files = await Promise.all([
    fetchBytes(new URL("manifest.json", indexURL), { cache: "no-cache" }),
    ...names.map((name) => {
      const url = new URL(encodeURIComponent(name), indexURL);
      url.searchParams.set("v", String(indexFiles[name]).slice(0, 16));
      return fetchBytes(url);
    }),
  ]);
  return ["manifest.json", ...names].map((name, i) => [name, files[i]]);
}

async function fetchBytes(url, options = {}) {
  const response = await fetch(url, options);
  if (!response.ok) {
    throw new Error(`${url} answered ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}
