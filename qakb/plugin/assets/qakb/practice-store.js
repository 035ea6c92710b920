// The practice state: what this reader has practised on this site and when each question
// is due again. It lives in this browser's localStorage, keyed by each question's stable id
// (its anchor, never its number), so it survives reloads and rebuilds of the site; an
// export file carries it to another device. practice.js schedules with ts-fsrs and writes
// it, progress.js draws it. Stored and exported as one JSON document:
//
//   { "format": "qakb-practice", "version": 1,
//     "cards":   { "<question id>": <a ts-fsrs Card, dates as ISO strings> },
//     "reviews": [ ["<question id>", <rating 1-4: Again, Hard, Good, Easy>, <epoch ms>], ... ] }
//
// An export adds "site" (the site's name) and "exported_at". Importing merges: per question
// the card reviewed last wins, and the review logs are joined.
(() => {
  "use strict";

  // <site>/assets/qakb/practice-store.js: the site root is two folders up, however deep it is hosted.
  const SCRIPT_URL = document.currentScript ? document.currentScript.src : null;
  const SITE_ROOT = SCRIPT_URL ? new URL("../../", SCRIPT_URL) : new URL(".", window.__md_scope || location.href);
  const FORMAT = "qakb-practice";
  const VERSION = 1;
  // Two sites served from one origin (say localhost:8000, one after the other) keep apart
  // by their root path; a site moved to another path starts afresh, or imports its export.
  const STORAGE_KEY = `${FORMAT}:${SITE_ROOT.pathname}`;
  const CHANGED_EVENT = "qakb-practice:changed";
  // ts-fsrs's State enum.
  const STATE = { New: 0, Learning: 1, Review: 2, Relearning: 3 };
  // Anki calls a card "mature" from a 21-day interval on; here that is "mastered".
  const MASTERED_DAYS = 21;
  const RATINGS = [1, 2, 3, 4];

  const siteFiles = new Map(); // path -> promise of its JSON
  let linksPromise = null;

  function emptyState() {
    return { format: FORMAT, version: VERSION, cards: {}, reviews: [] };
  }

  function load() {
    let text = null;
    try {
      text = window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      return emptyState(); // storage disabled: practice still works for this page view
    }
    if (!text) {
      return emptyState();
    }
    try {
      return validState(JSON.parse(text)).state;
    } catch (error) {
      return emptyState();
    }
  }

  // Throws when the browser refuses (storage full or disabled); callers tell the reader.
  function save(state) {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    document.dispatchEvent(new CustomEvent(CHANGED_EVENT));
  }

  // Calls `listener` whenever the state changes, in this tab or another one, until the
  // returned function is called.
  function subscribe(listener) {
    const fromOtherTab = (event) => {
      if (event.key === STORAGE_KEY || event.key === null) {
        listener();
      }
    };
    document.addEventListener(CHANGED_EVENT, listener);
    window.addEventListener("storage", fromOtherTab);
    return () => {
      document.removeEventListener(CHANGED_EVENT, listener);
      window.removeEventListener("storage", fromOtherTab);
    };
  }

  function record(state, id, card, rating, when) {
    state.cards[id] = serialisedCard(card);
    state.reviews.push([id, rating, when.getTime()]);
    return state;
  }

  function serialisedCard(card) {
    return JSON.parse(JSON.stringify(card));
  }

  // ---- reading cards ----------------------------------------------------------------------

  function startOfDay(now) {
    const start = new Date(now);
    start.setHours(0, 0, 0, 0);
    return start;
  }

  function endOfDay(now) {
    const end = new Date(now);
    end.setHours(24, 0, 0, 0);
    return end;
  }

  function isNew(card) {
    return !card || card.state === STATE.New;
  }

  // A learning step is due at its minute; a review is due all day, as in Anki.
  function isDue(card, now) {
    if (isNew(card)) {
      return false;
    }
    const due = new Date(card.due);
    return card.state === STATE.Review ? due < endOfDay(now) : due <= now;
  }

  function isMastered(card) {
    return !!card && card.state === STATE.Review && card.scheduled_days >= MASTERED_DAYS;
  }

  // "new" | "due" (today) | "mastered" | "learning": one per question, so bars can stack them.
  function status(card, now) {
    if (isNew(card)) {
      return "new";
    }
    if (new Date(card.due) < endOfDay(now)) {
      return "due";
    }
    return isMastered(card) ? "mastered" : "learning";
  }

  function summarize(ids, state, now) {
    const summary = { total: ids.length, new: 0, due: 0, learning: 0, mastered: 0 };
    for (const id of ids) {
      summary[status(state.cards[id], now)] += 1;
    }
    summary.seen = summary.total - summary.new;
    return summary;
  }

  function reviewedSince(state, since) {
    const from = since.getTime();
    return state.reviews.filter((review) => review[2] >= from).length;
  }

  // ---- export and import ------------------------------------------------------------------

  function exportDocument(state, siteName, now) {
    return {
      format: FORMAT,
      version: VERSION,
      site: siteName,
      exported_at: now.toISOString(),
      cards: state.cards,
      reviews: state.reviews,
    };
  }

  function validCard(card) {
    return card && typeof card === "object"
      && Number.isFinite(card.stability) && Number.isFinite(card.difficulty)
      && Number.isInteger(card.state) && card.state >= STATE.New && card.state <= STATE.Relearning
      && Number.isInteger(card.reps) && Number.isInteger(card.lapses)
      && !Number.isNaN(new Date(card.due).getTime());
  }

  // The state in `data` with malformed entries dropped (and counted); throws a message for
  // the reader when `data` is not a practice file at all.
  function validState(data) {
    if (!data || typeof data !== "object" || data.format !== FORMAT) {
      throw new Error("this is not a practice progress file (exported from a qakb site's practice page)");
    }
    if (data.version !== VERSION) {
      throw new Error(`this file is in version ${data.version} of the progress format; this site reads version ${VERSION}`);
    }
    const state = emptyState();
    let dropped = 0;
    for (const [id, card] of Object.entries(data.cards && typeof data.cards === "object" ? data.cards : {})) {
      if (validCard(card)) {
        state.cards[id] = card;
      } else {
        dropped += 1;
      }
    }
    for (const review of Array.isArray(data.reviews) ? data.reviews : []) {
      if (Array.isArray(review) && typeof review[0] === "string" && RATINGS.includes(review[1])
          && Number.isFinite(review[2])) {
        state.reviews.push([review[0], review[1], review[2]]);
      } else {
        dropped += 1;
      }
    }
    return { state, dropped };
  }

  function parseImport(text) {
    let data;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new Error("the file is not JSON (choose a file saved with “Export progress”)");
    }
    return validState(data);
  }

  function reviewedAt(card) {
    return card.last_review ? new Date(card.last_review).getTime() : 0;
  }

  // `current` with `incoming` merged in: per question the card reviewed last wins.
  function merge(current, incoming) {
    const state = { format: FORMAT, version: VERSION, cards: { ...current.cards }, reviews: [] };
    let updated = 0;
    for (const [id, card] of Object.entries(incoming.cards)) {
      if (!state.cards[id] || reviewedAt(card) > reviewedAt(state.cards[id])) {
        state.cards[id] = card;
        updated += 1;
      }
    }
    const seen = new Set();
    for (const review of [...current.reviews, ...incoming.reviews]) {
      const key = `${review[0]}\u0000${review[2]}`;
      if (!seen.has(key)) {
        seen.add(key);
        state.reviews.push(review);
      }
    }
    state.reviews.sort((a, b) => a[2] - b[2]);
    return { state, updated };
  }

  // Progress kept under a question's former ids moves to its current id (`currentIdOf`),
  // unless the current id has progress reviewed later.
  function migrate(state, currentIdOf) {
    let moved = 0;
    for (const [id, card] of Object.entries(state.cards)) {
      const current = currentIdOf(id);
      if (current && current !== id) {
        if (!state.cards[current] || reviewedAt(card) > reviewedAt(state.cards[current])) {
          state.cards[current] = card;
        }
        delete state.cards[id];
        moved += 1;
      }
    }
    for (const review of state.reviews) {
      review[0] = currentIdOf(review[0]) || review[0];
    }
    return moved;
  }

  function reset() {
    window.localStorage.removeItem(STORAGE_KEY);
    document.dispatchEvent(new CustomEvent(CHANGED_EVENT));
  }

  // ---- the questions ----------------------------------------------------------------------

  // A JSON file of the site, fetched once per page load (and again after a failure).
  function siteJSON(path) {
    if (!siteFiles.has(path)) {
      const promise = fetch(new URL(path, SITE_ROOT)).then((response) => {
        if (!response.ok) {
          throw new Error(`${path}: HTTP ${response.status}`);
        }
        return response.json();
      });
      promise.catch(() => siteFiles.delete(path));
      siteFiles.set(path, promise);
    }
    return siteFiles.get(path);
  }

  // practice/topics.json: {topic slug: [question ids, in bank order]}, what the progress bars
  // on every page need (the practice page's files are ten times the size).
  function topicIds() {
    return siteJSON("practice/topics.json").then((data) => data.topics);
  }

  // The stored state, with progress on reworded questions moved to their current ids (`ids`:
  // every question's): the site's links.json (written by `qakb build` from
  // content/anchors.json) maps every former anchor to its question's current URL.
  async function currentState(ids) {
    const state = load();
    const known = new Set(ids);
    if (Object.keys(state.cards).every((id) => known.has(id))) {
      return state;
    }
    if (!linksPromise) {
      linksPromise = fetch(new URL("links.json", SITE_ROOT))
        .then((response) => (response.ok ? response.json() : {}))
        .catch(() => ({}));
    }
    const links = await linksPromise;
    const moved = migrate(state, (id) => {
      const anchor = typeof links[id] === "string" ? links[id].split("#")[1] : null;
      return anchor && known.has(anchor) ? anchor : null;
    });
    if (moved) {
      try {
        save(state);
      } catch (error) {
        // Migrated for this page view; saved by the next rating.
      }
    }
    return state;
  }

  function practiceURL(topic) {
    const url = new URL("practice/", SITE_ROOT);
    if (topic) {
      url.searchParams.set("topic", topic);
    }
    return url;
  }

  window.qakbPractice = {
    SITE_ROOT, STATE, MASTERED_DAYS,
    load, save, subscribe, record, reset,
    startOfDay, endOfDay, isNew, isDue, isMastered, status, summarize, reviewedSince,
    exportDocument, parseImport, merge, migrate,
    topicIds, currentState, practiceURL,
  };
})();
