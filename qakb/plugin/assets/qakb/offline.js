// The offline copy: registers the site's service worker (<site>/sw.js, written by
// qakb/plugin/offline.py), which saves every page, the search runtime and the index in this
// browser, and draws its control in the footer of every page: what it costs (offline.json),
// how far the saving is, and a button to turn it off or on.
//
// Turning it off unregisters the service worker and deletes its caches; the choice is kept
// in localStorage for this site. With the browser's data saver on, it starts off until the
// reader turns it on.
(() => {
  "use strict";

  // <site>/assets/qakb/offline.js: the site root is two folders up, however deep it is hosted.
  const SCRIPT_URL = document.currentScript ? document.currentScript.src : null;
  const SITE_ROOT = SCRIPT_URL ? new URL("../../", SCRIPT_URL) : new URL(".", window.__md_scope || location.href);
  const CHOICE_KEY = `qakb-offline:${SITE_ROOT.pathname}`;
  const CACHE_PREFIX = `qakb-offline:${SITE_ROOT.pathname}:`;
  const supported = "serviceWorker" in navigator && "caches" in window && window.isSecureContext;

  // What the footer shows: "off" | "saving" | "ready" | "failed" | "unsupported".
  const status = { state: "unsupported", done: 0, total: 0, message: "", summary: null };

  function chosen() {
    let stored = null;
    try {
      stored = localStorage.getItem(CHOICE_KEY);
    } catch (error) {
      // Storage disabled: the default holds for this visit.
    }
    if (stored === "on" || stored === "off") {
      return stored;
    }
    return navigator.connection && navigator.connection.saveData ? "off" : "on";
  }

  function remember(choice) {
    try {
      localStorage.setItem(CHOICE_KEY, choice);
    } catch (error) {
      // The choice holds for this visit.
    }
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

  async function savedVersion() {
    for (const name of await caches.keys()) {
      if (name.startsWith(CACHE_PREFIX)) {
        return name.slice(CACHE_PREFIX.length);
      }
    }
    return null;
  }

  async function turnOn() {
    if (status.state !== "ready") {
      status.state = "saving";
      draw();
    }
    try {
      const registration = await navigator.serviceWorker.register(new URL("sw.js", SITE_ROOT),
        { scope: SITE_ROOT.pathname, updateViaCache: "none" });
      await navigator.serviceWorker.ready;
      const version = (await summary())?.version;
      const saved = await savedVersion();
      const updating = registration.installing || registration.waiting;
      // While a rebuilt site's copy is saved, the worker's messages tell how far it is.
      status.state = !updating && saved && (!version || saved === version) ? "ready" : "saving";
    } catch (error) {
      status.state = "failed";
      status.message = String(error.message || error);
    }
    draw();
  }

  async function turnOff() {
    status.state = "off";
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

  function megabytes(bytes) {
    return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
  }

  function describe() {
    const size = status.summary ? megabytes(status.summary.bytes) : null;
    switch (status.state) {
      case "ready":
        return `Available offline${size ? `: ${size} saved in this browser` : ""}.`;
      case "saving":
        return `Saving for offline use${size ? ` (${size})` : ""}…`
          + (status.total ? ` ${Math.floor((100 * status.done) / status.total)}%` : "");
      case "failed":
        return `Could not save for offline use${status.message ? ` (${status.message})` : ""}.`;
      case "unsupported":
        return "Offline use needs a browser with service workers and an https address.";
      default:
        return `Offline copy off${size ? ` (${size} to download)` : ""}.`;
    }
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
      const button = document.createElement("button");
      button.type = "button";
      button.className = "qakb-offline__button";
      button.addEventListener("click", toggle);
      root.append(text, " ", button);
      footer.append(root);
      drawn = { root, text, button };
    }
    drawn.text.textContent = describe();
    const on = status.state !== "off" && status.state !== "unsupported";
    drawn.button.hidden = status.state === "unsupported";
    drawn.button.textContent = on ? "Turn off offline copy" : "Save for offline use";
    drawn.button.setAttribute("aria-pressed", String(on));
    drawn.root.dataset.state = status.state;
  }

  function toggle() {
    if (status.state === "off") {
      remember("on");
      turnOn();
    } else {
      remember("off");
      turnOff();
    }
  }

  function listen() {
    navigator.serviceWorker.startMessages();
    navigator.serviceWorker.addEventListener("message", ({ data }) => {
      if (!data || data.type !== "qakb-offline" || chosen() === "off") {
        return;
      }
      if (data.state === "saving") {
        Object.assign(status, { state: "saving", done: data.done, total: data.total });
      } else if (data.state === "ready") {
        status.state = "ready";
      } else if (data.state === "failed") {
        Object.assign(status, { state: "failed", message: data.message || "" });
      }
      draw();
    });
  }

  // For tests: the same steps the button takes.
  window.qakbOffline = {
    get state() {
      return status.state;
    },
    turnOn: () => { remember("on"); return turnOn(); },
    turnOff: () => { remember("off"); return turnOff(); },
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

  function init() {
    if (supported) {
      status.state = chosen() === "on" ? "saving" : "off";
      listen();
      summary().then(draw);
      if (chosen() === "on") {
        savedVersion().then((saved) => {
          if (saved && status.state === "saving" && !status.total) {
            status.state = "ready"; // until the worker, registered after load, says otherwise
            draw();
          }
        });
        // The copy downloads in the background once the page has loaded, not before what the
        // reader opened it for.
        afterLoad(turnOn);
      } else {
        turnOff();
      }
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
