// The site's offline copy (written to <site>/sw.js by qakb/plugin/offline.py, which fills
// BUILD: the version and every file to keep, as [URL relative to the site, size, sha256, part,
// 1 if the search asks for it as URL?v=<its sha256's first 16 hex digits>, else 0]).
//
// What it keeps is the reader's choice, named in the URL offline.js registers it with
// (sw.js?save=LEVEL): "visit" the files browsing and the search need (part 0), "search" those
// and the whole search index (parts 0-1), "site" everything (parts 0-2; also a worker
// registered without a choice). A new choice registers the worker at its new URL, so the
// browser installs it again and it saves what the copy lacks.
//
// install   saves the chosen files into the cache "qakb-offline:<site path>:<version>": a file
//           already there is kept, one the previous version saved with the same sha256 is
//           copied from its cache, the others are downloaded and checked against their sha256
//           (a site rebuilt during the download fails the install; the next visit goes on
//           where it stopped). "visit" downloads nothing: it keeps the files the page has
//           fetched already, from the browser's HTTP cache. A record of what the cache holds
//           and at which level comes last.
// activate  deletes this site's other versions, then takes over the open pages
// fetch     names carrying a content hash (bundle.1a2b3c4d.min.js) and Pyodide's runtime: the cache first;
//           everything else (pages, the index, unversioned assets): the network first,
//           the cache when the network fails, so an online reader always gets the newest
//           site and an offline one the saved copy, all of one version. A file of this version
//           that comes from the network (a page read, a piece of the index a query needed) is
//           kept too, once its sha256 is checked: what a reader has seen stays readable offline.
//
// Pages follow the saving through messages
// {type: "qakb-offline", level, state, done, total, bytesDone, bytesTotal}.
const BUILD = /* qakb:build */ null;

const SCOPE = new URL(self.registration.scope);
const PREFIX = `qakb-offline:${SCOPE.pathname}:`;
const CACHE = PREFIX + BUILD.version;
const LEVELS = { visit: 0, search: 1, site: 2 };
const CHOSEN = new URL(self.location.href).searchParams.get("save");
const LEVEL = Object.hasOwn(LEVELS, CHOSEN) ? CHOSEN : "site";
const FILES = new Map(BUILD.files.map((file) => [file[0], file]));
// Stored with the files: their hashes, for the next version to know what it can copy, which of
// them this version downloaded (the rest it copied or had) and the level saved.
const RECORD_KEY = new URL("qakb-offline-record.json", SCOPE).href;
const IMMUTABLE = /[.-][0-9a-f]{8,}(?:\.min)?\.[a-z0-9]+$/;
// Files a server may change on the way: `qakb serve` writes its own address into the sitemap.
const REWRITTEN = new Set(["sitemap.xml"]);
const DOWNLOADS = 4;

self.addEventListener("install", (event) => {
  event.waitUntil(save().then(() => self.skipWaiting(), async (error) => {
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
  event.respondWith(IMMUTABLE.test(url.pathname) || isRuntime(url) ? cacheFirst(event) : networkFirst(event));
});

// Pyodide's own files (assets/pyodide/) change only with its pinned version, and a new version
// is a new offline copy: they come from the cache, which also lets the browser reuse the wasm
// it compiled before. Not the lock file: it names the engine's wheel, which may be newer.
function isRuntime(url) {
  const path = url.pathname.slice(SCOPE.pathname.length);
  return path.startsWith("assets/pyodide/") && !path.endsWith(".json");
}

// The copy is saved under plain URLs: the index's files (a sharded index's term ranges carry
// a hash in their name too) are asked for with ?v=<hash> as well.
async function cacheFirst(event) {
  const saved = await caches.match(event.request.url, { cacheName: CACHE, ignoreSearch: true, ignoreVary: true });
  return saved || fromNetwork(event);
}

async function networkFirst(event) {
  const { request } = event;
  try {
    return await fromNetwork(event);
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
      if (notFound) { // saved as the host sent it, with 200
        return new Response(notFound.body, { status: 404, statusText: "Not Found", headers: notFound.headers });
      }
    }
    throw error;
  }
}

async function fromNetwork(event) {
  const response = await fetch(event.request);
  const file = siteFile(event.request.url);
  if (file && response.ok && !response.redirected && response.type === "basic") {
    event.waitUntil(keep(file, response.clone()).catch(() => {})); // a copy it could not keep is no error
  }
  return response;
}

// The file of this version a URL asks for (without its query), or null.
function siteFile(href) {
  const url = new URL(href);
  const path = url.pathname.slice(SCOPE.pathname.length).replace(/(^|\/)index\.html$/, "$1");
  try {
    return FILES.get(decodeURIComponent(path)) || null;
  } catch {
    return null; // not a name the build wrote
  }
}

async function keep([path, , sha256], response) {
  const url = new URL(path, SCOPE).href;
  const cache = await caches.open(CACHE);
  if (!(await cache.match(url, { ignoreVary: true }))) {
    const body = await response.arrayBuffer();
    if (hex(await crypto.subtle.digest("SHA-256", body)) === sha256) {
      await cache.put(url, storable(response, body));
    }
  }
}

async function save() {
  const cache = await caches.open(CACHE);
  const had = await cache.match(RECORD_KEY);
  const record = had ? await had.json() : { downloaded: [] };
  const present = new Set((await cache.keys()).map((request) => request.url));
  const wanted = BUILD.files.filter(([, , , part]) => part <= LEVELS[LEVEL]);
  const queue = wanted.filter(([path]) => !present.has(new URL(path, SCOPE).href));
  const progress = { level: LEVEL, state: "saving", done: wanted.length - queue.length, total: wanted.length,
    bytesDone: 0, bytesTotal: wanted.reduce((sum, [, size]) => sum + size, 0) };
  progress.bytesDone = progress.bytesTotal - queue.reduce((sum, [, size]) => sum + size, 0);
  tell({ ...progress });
  const previous = await previousVersions();
  const fetched = [];
  let failed = false; // the other downloads stop at the first failure, and say no more
  async function download() {
    while (queue.length && !failed) {
      const [path, size, sha256, , hashedURL] = queue.shift();
      const url = new URL(path, SCOPE).href;
      let response = await copied(previous, url, sha256);
      try {
        if (!response && LEVEL === "visit") {
          // Unasked, nothing is downloaded: what this visit fetched already is kept (and what
          // later visits fetch, by the fetch handler).
          response = await alreadyFetched(url, sha256, hashedURL);
        } else if (!response) {
          response = await downloaded(path, url, sha256, hashedURL);
          fetched.push(path);
        }
        if (response) {
          await cache.put(url, response);
        }
      } catch (error) {
        failed = true;
        throw error;
      }
      if (!failed) {
        progress.done += 1;
        progress.bytesDone += size;
        tell({ ...progress });
      }
    }
  }
  await Promise.all(Array.from({ length: DOWNLOADS }, download));
  // Every file of this version the cache holds, whoever put it there.
  const kept = new Set((await cache.keys()).map((request) => request.url));
  const hashes = Object.fromEntries(BUILD.files.map(([path, , sha256]) => [new URL(path, SCOPE).href, sha256])
    .filter(([url]) => kept.has(url)));
  const downloadedPaths = [...new Set([...record.downloaded, ...fetched])].sort();
  await cache.put(RECORD_KEY, new Response(JSON.stringify({ hashes, downloaded: downloadedPaths, level: LEVEL }),
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

async function downloaded(path, url, sha256, hashedURL) {
  // Under the URL the search asks for, the HTTP cache's copy is this build's (the page's visit
  // may have fetched it already); no-cache for the others, whose copy there may be an older build's.
  const response = hashedURL ? await fetch(`${url}?v=${sha256.slice(0, 16)}`)
    : await fetch(url, { cache: "no-cache" });
  if (!response.ok) {
    throw new Error(`${path || "the home page"} answered ${response.status}`);
  }
  const body = await response.arrayBuffer();
  if (!REWRITTEN.has(path) && hex(await crypto.subtle.digest("SHA-256", body)) !== sha256) {
    throw new Error(`${path || "the home page"} is not the file of this build: the site changed while it was saved`);
  }
  return storable(response, body);
}

// The browser's HTTP cache's copy of this build's file, or null: never the network.
async function alreadyFetched(url, sha256, hashedURL) {
  try {
    const response = await fetch(hashedURL ? `${url}?v=${sha256.slice(0, 16)}` : url,
      { cache: "only-if-cached", mode: "same-origin" });
    const body = response.ok ? await response.arrayBuffer() : null;
    return body && hex(await crypto.subtle.digest("SHA-256", body)) === sha256 ? storable(response, body) : null;
  } catch {
    return null;
  }
}

// A new response: one that followed a redirect cannot answer a page navigation. The body is
// decoded already, so the host's compression headers no longer describe it.
function storable(response, body) {
  const headers = new Headers(response.headers);
  for (const name of ["Content-Encoding", "Content-Length"]) {
    headers.delete(name);
  }
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// In the order told: a page must not see "saving" after "failed".
let told = Promise.resolve();

function tell(message) {
  told = told.then(async () => {
    for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
      client.postMessage({ type: "qakb-offline", level: LEVEL, ...message });
    }
  });
  return told;
}
