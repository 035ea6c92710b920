// The offline copy: registers the site's service worker (<site>/sw.js, written by
// qakb/plugin/offline.py), which keeps the site, or the part of it the reader chose, in this
// browser, and draws its control in the footer of every page: what it costs (offline.json),
// how far the saving is, and buttons to save or remove it.
//
// What is saved, unless the reader chose (offline.json's `auto`, from the option offline_auto_mb):
//   a small site    the whole site, once the page has loaded and the search has started; the
//                   footer says so and offers to turn it off
//   a bigger one    only what browsing and the search need (which the visit downloads anyway);
//                   the footer offers the whole site and the search index alone, with their sizes
// The reader's choice ("site", "search" or "off") is kept in localStorage for this site and
// names the worker's URL (sw.js?save=...). Turning it off unregisters the worker and deletes
// its caches. With the browser's data saver on, nothing is saved until the reader asks.
(() => {
  "use strict";

  // <site>/assets/qakb/offline.js: the site root is two folders up, however deep it is hosted.
  const SCRIPT_URL = document.currentScript ? document.currentScript.src : null;
  const SITE_ROOT = SCRIPT_URL ? new URL("../../", SCRIPT_URL) : new URL(".", window.__md_scope || location.href);
  const CHOICE_KEY = `qakb-offline:${SITE_ROOT.pathname}`;
  const CACHE_PREFIX = `qakb-offline:${SITE_ROOT.pathname}:`;
  const RECORD_URL = new URL("qakb-offline-record.json", SITE_ROOT).href;
  const LEVELS = ["visit", "search", "site"]; // what each saves, in offline_sw.js
  const supported = "serviceWorker" in navigator && "caches" in window && window.isSecureContext;

  // What the footer shows. state: "unsupported" | "unknown" (no offline.json: offline, nothing
  // saved) | "off" | "offer" (only what visits need is kept) | "saving" | "ready" | "failed";
  // level: what the worker keeps ("visit", "search", "site"), null when none is registered.
  const status = { state: supported ? "unknown" : "unsupported", level: null, bytesDone: 0, bytesTotal: 0,
    message: "", summary: null };

  function stored() {
    let value = null;
    try {
      value = localStorage.getItem(CHOICE_KEY);
    } catch (error) {
      // Storage disabled: the default holds for this visit.
    }
    return value === "on" ? "site" : value; // "on": the choice before the copy had levels
  }

  function remember(choice) {
    try {
      localStorage.setItem(CHOICE_KEY, choice);
    } catch (error) {
      // The choice holds for this visit.
    }
  }

  // The level to keep: the reader's choice, else the site's default.
  function chosenLevel() {
    const choice = stored();
    if (choice === "site" || choice === "search" || choice === "off") {
      return choice;
    }
    if (navigator.connection && navigator.connection.saveData) {
      return "off";
    }
    return status.summary && status.summary.auto ? "site" : "visit";
  }

  async function summary() {
    if (!status.summary) {
      try {
        const response = await fetch(new URL("offline.json", SITE_ROOT), { cache: "no-cache" });
        status.summary = response.ok ? await response.json() : null;
      } catch (error) {
        status.summary = null; // offline with no copy saved: the size is unknown
      }
    }
    return status.summary;
  }

  // The saved copy's version and level, from the record its worker writes once a save is complete.
  async function savedCopy() {
    const wanted = status.summary && status.summary.version;
    let found = null;
    for (const name of await caches.keys()) {
      if (name.startsWith(CACHE_PREFIX)) {
        const record = await (await caches.open(name)).match(RECORD_URL);
        const version = name.slice(CACHE_PREFIX.length);
        if (record && (!found || version === wanted)) {
          found = { version, level: (await record.json()).level || "site" };
        }
      }
    }
    return found;
  }

  function covers(saved, level) {
    return Boolean(saved) && (!status.summary || saved.version === status.summary.version)
      && LEVELS.indexOf(saved.level) >= LEVELS.indexOf(level);
  }

  // Registers the worker that keeps `level` and sets what the footer shows until its messages come.
  async function keep(level) {
    const more = level !== status.level; // a choice that keeps more than the copy has
    status.level = level;
    if (level !== "visit" && (status.state !== "ready" || more)) {
      Object.assign(status, { state: "saving", bytesDone: 0, bytesTotal: 0 });
      draw();
    }
    try {
      const registration = await navigator.serviceWorker.register(new URL(`sw.js?save=${level}`, SITE_ROOT),
        { scope: SITE_ROOT.pathname, updateViaCache: "none" });
      if (level === "visit") {
        status.state = "offer";
      } else if (!(registration.installing || registration.waiting) && covers(await savedCopy(), level)) {
        status.state = "ready";
      } else if (status.state !== "failed") {
        status.state = "saving"; // the worker's messages say how far it is
      }
    } catch (error) {
      Object.assign(status, { state: level === "visit" ? "offer" : "failed", message: String(error.message || error) });
    }
    draw();
  }

  async function turnOff() {
    Object.assign(status, { state: "off", level: null });
    try {
      const registration = await navigator.serviceWorker.getRegistration(SITE_ROOT.href);
      if (registration && new URL(registration.scope).pathname === SITE_ROOT.pathname) {
        await registration.unregister();
      }
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX)) {
          await caches.delete(name);
        }
      }
    } catch (error) {
      Object.assign(status, { state: "failed", message: String(error.message || error) });
    }
    draw();
  }

  function choose(level) {
    remember(level);
    return level === "off" ? turnOff() : keep(level);
  }

  function megabytes(bytes) {
    return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
  }

  function sizeOf(level) {
    const figures = status.summary;
    if (!figures) {
      return null;
    }
    return megabytes(level === "search" ? figures.search_bytes : figures.bytes);
  }

  // Whole tens of percent: the status is read out by screen readers at each change.
  function percent() {
    return status.bytesTotal ? ` ${10 * Math.floor((10 * status.bytesDone) / status.bytesTotal)}%` : "";
  }

  function describe() {
    const size = sizeOf(status.level === "search" ? "search" : "site");
    const auto = !status.summary || status.summary.auto;
    switch (status.state) {
      case "ready":
        return status.level === "search"
          ? `Search available offline: ${size} saved in this browser.`
          : `Available offline${size ? `: ${size} saved in this browser` : ""}.`;
      case "saving": {
        const what = status.level === "search" ? "the search index " : auto ? "" : "this site ";
        return `Saving ${what}for offline use${size ? ` (${size})` : ""}…${percent()}`;
      }
      case "failed":
        return `Could not save for offline use${status.message ? ` (${status.message})` : ""}.`;
      case "unsupported":
        return "Offline use needs a browser with service workers and an https address.";
      case "off":
        return auto ? `Offline copy off${size ? ` (${size} to download)` : ""}.` : "Not saved for offline use.";
      default:
        return ""; // "offer": the buttons say it; "unknown": nothing to offer
    }
  }

  // [action, label, aria-pressed or null] for each button the footer shows now.
  function buttons() {
    const { state, summary: figures } = status;
    if (state === "unsupported" || state === "unknown" || state === "saving" || !figures) {
      return [];
    }
    if (figures.auto) { // one switch, as for a site small enough to save unasked
      const on = state !== "off";
      return [[on ? "off" : "site", on ? "Turn off offline copy" : "Save for offline use", String(on)]];
    }
    const offers = [];
    if (!(state === "ready" && status.level === "site")) {
      offers.push(["site", `Save this site for offline use: ${sizeOf("site")}`, null]);
    }
    if (state !== "ready") {
      offers.push(["search", `Save only the search index: ${sizeOf("search")}`, null]);
    }
    if (state === "ready") {
      offers.push(["off", "Remove offline copy", null]);
    }
    return offers;
  }

  let drawn = null;

  // The control sits in the footer, which each page (instant navigation included) brings anew.
  function draw() {
    const footer = document.querySelector(".md-footer-meta__inner");
    if (!footer) {
      return;
    }
    if (!drawn || !drawn.root.isConnected) {
      const root = document.createElement("div");
      root.className = "qakb-offline";
      const text = document.createElement("span");
      text.className = "qakb-offline__status";
      text.setAttribute("role", "status");
      const progress = document.createElement("progress");
      progress.className = "qakb-offline__progress";
      progress.setAttribute("aria-label", "Saved for offline use");
      const actions = document.createElement("span");
      actions.className = "qakb-offline__actions";
      root.append(text, progress, actions);
      footer.append(root);
      drawn = { root, text, progress, actions, key: null };
    }
    const described = describe();
    if (drawn.text.textContent !== described) {
      drawn.text.textContent = described;
    }
    drawn.progress.hidden = status.state !== "saving";
    drawn.progress.max = status.bytesTotal || 1;
    drawn.progress.value = status.bytesDone;
    const wanted = buttons();
    const key = JSON.stringify(wanted);
    if (drawn.key !== key) { // redrawn only when they change, so keyboard focus stays where it is
      drawn.actions.replaceChildren(...wanted.map(([action, label, pressed]) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "qakb-offline__button";
        button.dataset.action = action;
        button.textContent = label;
        if (pressed !== null) {
          button.setAttribute("aria-pressed", pressed);
        }
        button.addEventListener("click", () => choose(action));
        return button;
      }));
      drawn.key = key;
    }
    drawn.root.dataset.state = status.state;
  }

  function listen() {
    navigator.serviceWorker.startMessages();
    navigator.serviceWorker.addEventListener("message", ({ data }) => {
      // Only the worker of the level kept now: a replaced one may still be finishing.
      if (!data || data.type !== "qakb-offline" || !status.level || (data.level || "site") !== status.level) {
        return;
      }
      if (status.level === "visit") {
        status.state = "offer"; // saved without a word: the reader did not ask
      } else if (data.state === "saving") {
        Object.assign(status, { state: "saving", bytesDone: data.bytesDone || 0, bytesTotal: data.bytesTotal || 0 });
      } else if (data.state === "ready") {
        status.state = "ready";
      } else if (data.state === "failed") {
        Object.assign(status, { state: "failed", message: data.message || "" });
      }
      draw();
    });
  }

  // For tests: the same steps the buttons take.
  window.qakbOffline = {
    get state() {
      return status.state;
    },
    get level() {
      return status.level;
    },
    save: (level) => choose(level),
    turnOn: () => choose("site"),
    turnOff: () => choose("off"),
  };

  // Once the page has loaded and, if the search engine is starting, once it has started: the
  // copy's download should not delay the reader's first result.
  function afterLoad(run) {
    const search = window.qakbSearch;
    const engine = () => (search && search.state === "loading" ? search.start().catch(() => {}) : Promise.resolve());
    const later = () => engine().then(run);
    const idle = () => (window.requestIdleCallback
      ? requestIdleCallback(later, { timeout: 5000 }) : setTimeout(later, 1000));
    if (document.readyState === "complete") {
      idle();
    } else {
      window.addEventListener("load", idle, { once: true });
    }
  }

  async function start() {
    listen();
    if (!(await summary())) {
      draw(); // offline with nothing saved, or a site without offline.json: nothing to offer
      return;
    }
    const level = chosenLevel();
    if (level === "off") {
      turnOff();
      return;
    }
    status.level = level;
    const saved = await savedCopy();
    status.state = level === "visit" ? "offer" : covers(saved, level) ? "ready" : "saving";
    draw();
    // The copy downloads in the background once the page has loaded, not before what the
    // reader opened it for; a choice made meanwhile wins.
    afterLoad(() => {
      const now = chosenLevel();
      if (now !== "off" && status.level === level) {
        keep(now);
      }
    });
  }

  function init() {
    if (supported) {
      start();
    }
    if (window.document$ && typeof window.document$.subscribe === "function") {
      window.document$.subscribe(draw);
    } else {
      draw();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
