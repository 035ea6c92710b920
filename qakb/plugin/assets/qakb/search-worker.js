// Runs the qakb search engine (qakb.engine, pure Python) in Pyodide, off the page's
// main thread: booting the interpreter takes seconds of CPU, and the page (and
// Material's keyword search) must stay responsive meanwhile.
//
// Protocol (module worker, started by search-start.js for widget.js):
//   in:  {type: "boot", runtimeURL, lockURL, enginePackage, wheelURL, wheelSha256, snapshotURL, stdlibURL, indexURL}
//        {type: "search", id, query, k}
//   out: {type: "ready", bootMs, phases: {name: ms since boot began}, startedAt: when it began, in ms since the epoch}
//        {type: "failed", message}
//        {type: "results", id, hits: "<JSON from Engine.search_json>", searchMs, fetchedBytes}
//        {type: "results", id, superseded: true}   a newer search arrived before this one ran
//
// No backlog: a search waits in `pending` until the worker is free, and a newer one
// replaces it there, so typing fast never queues searches nobody will see.
//
// A sharded index (qakb.shards, large banks) is fetched query by query: the engine
// names the shard files a search still needs, the worker fetches them (in parallel,
// each once) into the index folder, and asks again until the engine has results.

const INDEX_PATH = "/home/pyodide/search_index";

let searchJson = null; // Engine.search_or_missing_json
let shards = null; // {pyodide, indexURL, fetched: Map name -> Promise of its byte count}
let pending = null;
let draining = false;

self.addEventListener("message", async ({ data }) => {
  if (data.type === "boot") {
    const started = performance.now();
    try {
      const phases = {};
      searchJson = await boot(data, (name) => { phases[name] = performance.now() - started; });
      self.postMessage({ type: "ready", bootMs: performance.now() - started, phases,
        startedAt: performance.timeOrigin + started });
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

async function runPending() {
  const request = pending;
  pending = null;
  if (request) {
    const started = performance.now();
    try {
      let fetchedBytes = 0;
      const asked = new Set();
      let answer = JSON.parse(searchJson(request.query, request.k));
      while (answer.missing) {
        for (const name of Object.keys(answer.missing)) {
          if (asked.has(name)) {
            throw new Error(`the search index file ${name} was fetched but the engine cannot read it`);
          }
          asked.add(name);
        }
        fetchedBytes += await fetchShards(answer.missing);
        answer = JSON.parse(searchJson(request.query, request.k));
      }
      const hits = JSON.stringify(answer.hits);
      self.postMessage({ type: "results", id: request.id, hits, searchMs: performance.now() - started, fetchedBytes });
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

async function boot({ runtimeURL, lockURL, enginePackage, wheelURL, wheelSha256, snapshotURL, stdlibURL, indexURL },
  mark) {
  // Downloads overlap the interpreter's start-up, which dominates the cold start: the snapshot,
  // the index and the engine's wheel, unzipped by JavaScript meanwhile.
  const snapshot = snapshotURL ? fetchBytes(snapshotURL) : null;
  snapshot?.catch(() => {}); // a failed download is handled where it is used
  const index = fetchIndex(indexURL);
  index.then(() => mark("index fetched"), () => {});
  const wheel = fetchBytes(wheelURL);
  const wheelModule = import(new URL("wheel.mjs", import.meta.url).href);
  const engineFiles = Promise.all([wheel, wheelModule]).then(([bytes, { wheelFiles }]) => wheelFiles(bytes));
  engineFiles.catch(() => {}); // a failed download is handled where it is used
  const { loadPyodide } = await import(new URL("pyodide.mjs", runtimeURL).href);
  // stdlibURL: the trimmed standard library (qakb/plugin/stdlib.py); never set with a snapshot.
  const options = { indexURL: runtimeURL, lockFileURL: lockURL, ...(stdlibURL ? { stdLibURL: stdlibURL } : {}) };
  const pyodide = await startInterpreter(loadPyodide, options, snapshot);
  mark(snapshot ? "interpreter restored" : "interpreter started");

  // The engine is a wheel the page names with its sha256 (the one the site's lock file lists):
  // other bytes are refused. From a snapshot qakb.engine is already imported, but the file
  // system is not part of the snapshot, so the wheel is installed either way and both paths
  // end in the same state.
  await installEngine(pyodide, enginePackage, await wheel, wheelSha256, await engineFiles, await wheelModule);
  mark("engine installed");
  pyodide.FS.mkdirTree(INDEX_PATH);
  for (const [name, bytes] of await index) {
    pyodide.FS.writeFile(`${INDEX_PATH}/${name}`, bytes);
  }
  const { Engine } = pyodide.pyimport("qakb.engine");
  mark("engine imported");
  const engineInstance = Engine.open(INDEX_PATH);
  mark("index opened");
  shards = { pyodide, indexURL, fetched: new Map() };
  // One proxy to the bound method: each query is a direct call, not a runPython.
  return engineInstance.search_or_missing_json;
}

// Checked against the sha256 the page names, then its files written where pip would put them.
function installEngine(pyodide, enginePackage, bytes, expected, files, { sha256, install }) {
  const found = sha256(pyodide, bytes);
  if (found !== expected) {
    throw new Error(`the search engine package ${enginePackage} did not load: its wheel's sha256 is ${found}, `
      + `not the ${expected} the site's lock file names`);
  }
  install(pyodide, files);
}

// The site build can ship a memory snapshot of an interpreter that has already started
// and imported qakb.engine (qakb/plugin/pyodide_snapshot.mjs): restoring it skips
// Python's start-up. Any problem with it (missing, refused by this Pyodide build)
// falls back to the normal start.
async function startInterpreter(loadPyodide, options, snapshot) {
  if (snapshot) {
    try {
      return await loadPyodide({ ...options, _loadSnapshot: snapshot });
    } catch (error) {
      console.warn("qakb: the Pyodide snapshot could not be used; starting Python without it:", String(error.message || error));
    }
  }
  return loadPyodide(options);
}

// The manifest first (revalidated on every boot), then the files it lists for the browser
// ("upfront"), all at once, each under a URL carrying its sha256: a rebuilt index bypasses
// any cached older file, and the engine verifies every file against the manifest.
async function fetchIndex(indexURL) {
  const manifestBytes = await fetchBytes(new URL("manifest.json", indexURL), { cache: "no-cache" });
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes));
  const names = manifest.upfront;
  if (!Array.isArray(names)) {
    throw new Error("the search index manifest lists no files for the browser: run qakb build again");
  }
  const files = await Promise.all(names.map((name) => {
    const url = new URL(encodeURIComponent(name), indexURL);
    url.searchParams.set("v", String(manifest.files?.[name]?.sha256 ?? "").slice(0, 16));
    return fetchBytes(url);
  }));
  return [["manifest.json", manifestBytes], ...names.map((name, i) => [name, files[i]])];
}

// The shard files a search needs, each fetched once (under a URL versioned by its checksum)
// and written where the engine reads it; resolves to the bytes fetched for this call.
async function fetchShards(missing) {
  const counts = Object.entries(missing).map(([name, checksum]) => {
    let fetched = shards.fetched.get(name);
    if (!fetched) {
      const url = new URL(encodeURIComponent(name), shards.indexURL);
      url.searchParams.set("v", checksum);
      fetched = fetchBytes(url).then((bytes) => {
        shards.pyodide.FS.writeFile(`${INDEX_PATH}/${name}`, bytes);
        return bytes.length;
      });
      fetched.catch(() => shards.fetched.delete(name)); // a failed download is tried again next time
      shards.fetched.set(name, fetched);
      return fetched;
    }
    return fetched.then(() => 0);
  });
  return (await Promise.all(counts)).reduce((total, count) => total + count, 0);
}

async function fetchBytes(url, options = {}) {
  const response = await fetch(url, options);
  if (!response.ok) {
    throw new Error(`${url} answered ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}
