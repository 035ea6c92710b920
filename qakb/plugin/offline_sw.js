// The site's offline copy (written to <site>/sw.js by qakb/plugin/offline.py, which fills
// BUILD: the version and every file to keep, as [URL relative to the site, size, sha256]).
//
// install   saves every file into the cache "qakb-offline:<site path>:<version>": a file
//           the previous version saved with the same sha256 is copied from its cache, the
//           others are downloaded and checked against their sha256 (a site rebuilt during
//           the download fails the install; the next visit tries again)
// activate  deletes this site's other versions, then takes over the open pages
// fetch     names carrying a content hash (bundle.1a2b3c4d.min.js) and Pyodide's runtime: the cache first;
//           everything else (pages, the index, unversioned assets): the network first,
//           the cache when the network fails, so an online reader always gets the newest
//           site and an offline one the saved copy, all of one version
//
// Pages follow the saving through messages {type: "qakb-offline", state, done, total}.
const BUILD = /* qakb:build */ null;

const SCOPE = new URL(self.registration.scope);
const PREFIX = `qakb-offline:${SCOPE.pathname}:`;
const CACHE = PREFIX + BUILD.version;
// Stored with the files: their hashes, for the next version to know what it can copy, and
// which of them this version downloaded (the rest it copied).
const RECORD_KEY = new URL("qakb-offline-record.json", SCOPE).href;
const IMMUTABLE = /[.-][0-9a-f]{8,}(?:\.min)?\.[a-z0-9]+$/;
const DOWNLOADS = 4;

self.addEventListener("install", (event) => {
  event.waitUntil(save().then(() => self.skipWaiting(), async (error) => {
    await caches.delete(CACHE);
    await tell({ state: "failed", message: String(error.message || error) });
    throw error;
  }));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) {
        await caches.delete(name);
      }
    }
    await self.clients.claim();
    await tell({ state: "ready", version: BUILD.version });
  })());
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== SCOPE.origin || !url.pathname.startsWith(SCOPE.pathname)) {
    return;
  }
  event.respondWith(IMMUTABLE.test(url.pathname) || isRuntime(url) ? cacheFirst(request) : networkFirst(request));
});

// Pyodide's own files (assets/pyodide/) change only with its pinned version, and a new version
// is a new offline copy: they come from the cache, which also lets the browser reuse the wasm
// it compiled before. Not the lock file: it names the engine's wheel, which may be newer.
function isRuntime(url) {
  const path = url.pathname.slice(SCOPE.pathname.length);
  return path.startsWith("assets/pyodide/") && !path.endsWith(".json");
}

async function cacheFirst(request) {
  return (await caches.match(request, { cacheName: CACHE, ignoreVary: true })) || fetch(request);
}

async function networkFirst(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const url = new URL(request.url);
    url.pathname = url.pathname.replace(/\/index\.html$/, "/");
    // The index is asked for with ?v=<hash> and pages may carry ?difficulty=: one version is
    // saved. Vary: Accept-Encoding (a host's precompressed files) does not matter to it either.
    const saved = await caches.match(url.href, { cacheName: CACHE, ignoreSearch: true, ignoreVary: true });
    if (saved) {
      return saved;
    }
    if (request.mode === "navigate") {
      const notFound = await caches.match(new URL("404.html", SCOPE).href,
        { cacheName: CACHE, ignoreVary: true });
      if (notFound) {
        return notFound;
      }
    }
    throw error;
  }
}

async function save() {
  const cache = await caches.open(CACHE);
  const previous = await previousVersions();
  const queue = [...BUILD.files];
  const total = queue.length;
  const fetched = [];
  let done = 0;
  async function download() {
    while (queue.length) {
      const [path, , sha256] = queue.shift();
      const url = new URL(path, SCOPE).href;
      let response = await copied(previous, url, sha256);
      if (!response) {
        response = await downloaded(path, url, sha256);
        fetched.push(path);
      }
      await cache.put(url, response);
      done += 1;
      tell({ state: "saving", done, total });
    }
  }
  await Promise.all(Array.from({ length: DOWNLOADS }, download));
  const hashes = Object.fromEntries(BUILD.files.map(([path, , sha256]) => [new URL(path, SCOPE).href, sha256]));
  await cache.put(RECORD_KEY, new Response(JSON.stringify({ hashes, downloaded: fetched.sort() }),
    { headers: { "Content-Type": "application/json" } }));
}

async function previousVersions() {
  const found = [];
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== CACHE) {
      const cache = await caches.open(name);
      const record = await cache.match(RECORD_KEY);
      if (record) {
        found.push({ cache, hashes: (await record.json()).hashes });
      }
    }
  }
  return found;
}

async function copied(previous, url, sha256) {
  for (const { cache, hashes } of previous) {
    if (hashes[url] === sha256) {
      const response = await cache.match(url, { ignoreVary: true });
      if (response) {
        return response;
      }
    }
  }
  return null;
}

async function downloaded(path, url, sha256) {
  // no-cache: the HTTP cache may hold an older build's copy of an unversioned file.
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) {
    throw new Error(`${path || "the home page"} answered ${response.status}`);
  }
  const body = await response.arrayBuffer();
  if (hex(await crypto.subtle.digest("SHA-256", body)) !== sha256) {
    throw new Error(`${path || "the home page"} is not the file of this build: the site changed while it was saved`);
  }
  // A new response: one that followed a redirect cannot answer a page navigation. The body is
  // decoded already, so the host's compression headers no longer describe it.
  const headers = new Headers(response.headers);
  for (const name of ["Content-Encoding", "Content-Length"]) {
    headers.delete(name);
  }
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function tell(message) {
  for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
    client.postMessage({ type: "qakb-offline", ...message });
  }
}
