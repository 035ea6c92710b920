// Semantic search inside Material's own header search box.
//
// As the page starts (option search_start: eager), once it has loaded (idle) or on first focus
// of the search box (focus), a module worker (search-worker.js) boots the
// self-hosted Pyodide and runs the project's pure-Python engine (qakb.engine) over
// search_index/. Its results appear above Material's keyword results, which stay
// available while Pyodide loads and remain the fallback if it cannot.
// Everything taken from the index or the query is inserted as text, never as markup.
(() => {
  "use strict";

  // This script lives at <site>/assets/qakb/widget.js, so the site root is two folders
  // up from its own URL: that holds however deep the site is hosted.
  const SCRIPT_URL = document.currentScript ? document.currentScript.src : null;
  const SITE_ROOT = SCRIPT_URL ? new URL("../../", SCRIPT_URL) : new URL(".", window.__md_scope || location.href);

  const RESULT_COUNT = 5;
  // Material redraws its keyword results on every keyup of the search box; typing a long
  // question fast, that redrawing (tens of ms a key) held the page's main thread for
  // seconds. Keyups reach Material once typing pauses this long.
  const KEYWORD_PAUSE_MS = 150;
  const WEAK_RESULT_COUNT = 3;
  // While typing, the box searches at most this often, always for what it holds then.
  const THROTTLE_MS = 60;
  // The engine names each hit's cue from its calibrated confidence (qakb.engine.calibration.CUE_LEVELS).
  const RELEVANCE_LEVELS = ["Weak match", "Fair match", "Good match", "Strong match"];
  const MESSAGES = {
    loading: "Loading semantic search…",
    failed: "Semantic search could not load; showing keyword results only.",
    empty: "No close questions found.",
    none: "No close question in this bank; the nearest are weak matches.",
  };
  // The passage a result showed, for the page it opens to highlight (see highlightPassage).
  const PASSAGE_KEY = "qakb-passage";

  let worker = null;
  let state = "idle"; // idle -> loading -> ready | failed
  let readyPromise = null;
  let engineStarts = 0; // 1 for the whole visit under instant navigation (tests read it)
  let nextRequestId = 0;
  const pendingRequests = new Map();

  // ---- the engine, behind a worker -------------------------------------------------

  function readConfig() {
    const block = document.getElementById("__qakb_search");
    if (!block) {
      throw new Error("this page has no #__qakb_search block: build the site with the qakb mkdocs plugin");
    }
    return JSON.parse(block.textContent);
  }

  // The worker is started by the page's head script (templates/partials/qakb-search.html),
  // there already with search_start: eager; here it is taken over and its results listened to.
  function startEngine() {
    if (readyPromise) {
      return readyPromise;
    }
    state = "loading";
    engineStarts++;
    readyPromise = (async () => {
      if (!window.qakbSearchWorker) {
        readConfig(); // names the missing block, if that is what is missing
        throw new Error("this page has no qakb search start script: build the site with the qakb mkdocs plugin");
      }
      const started = window.qakbSearchWorker(SITE_ROOT);
      worker = started.worker;
      worker.addEventListener("message", ({ data }) => {
        if (data.type !== "results") {
          return;
        }
        const request = pendingRequests.get(data.id);
        pendingRequests.delete(data.id);
        if (data.superseded) {
          request.resolve(null); // a newer query replaced it before it ran
        } else if (data.error) {
          request.reject(new Error(data.error));
        } else {
          request.resolve(JSON.parse(data.hits));
        }
      });
      const booted = await started.ready;
      state = "ready";
      return booted;
    })().catch((error) => {
      state = "failed";
      if (worker) {
        worker.terminate();
      }
      console.error("qakb: semantic search is unavailable:", error.message);
      throw error;
    });
    return readyPromise;
  }

  async function search(query, k = RESULT_COUNT) {
    await startEngine();
    const id = nextRequestId++;
    return new Promise((resolve, reject) => {
      pendingRequests.set(id, { resolve, reject });
      worker.postMessage({ type: "search", id, query, k });
    });
  }

  // ---- the results panel -----------------------------------------------------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  // Only pages of this site may be opened from a result, whatever the index holds.
  function resultURL(hit) {
    const url = new URL(String(hit.url), SITE_ROOT);
    return url.origin === SITE_ROOT.origin && url.pathname.startsWith(SITE_ROOT.pathname) ? url : null;
  }

  function relevanceLevel(hit) {
    return Math.max(0, RELEVANCE_LEVELS.indexOf(String(hit.cue)));
  }

  // The snippet as text nodes, the query's words in <mark>: nothing from the index is markup.
  function markedSnippet(hit) {
    const text = String(hit.snippet || "");
    const snippet = element("span", "qakb-search__snippet");
    let at = 0;
    for (const [start, end] of Array.isArray(hit.marks) ? hit.marks : []) {
      if (!(Number.isInteger(start) && Number.isInteger(end) && at <= start && start < end && end <= text.length)) {
        continue;
      }
      snippet.append(text.slice(at, start), element("mark", null, text.slice(start, end)));
      at = end;
    }
    snippet.append(text.slice(at));
    return snippet;
  }

  function resultOption(hit, index) {
    const option = element("a", "qakb-search__option");
    option.id = `qakb-search-option-${index}`;
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", "false");
    option.tabIndex = -1;
    option.href = resultURL(hit).href;

    option.append(element("span", "qakb-search__question", String(hit.question)));
    if (hit.snippet) {
      option.append(markedSnippet(hit));
      option.dataset.passage = String(hit.snippet).replace(/^… | …$/g, "");
    }
    const details = element("span", "qakb-search__details");
    details.append(element("span", "qakb-search__topic", String(hit.topic_title || hit.topic || "")));
    if (["easy", "medium", "hard"].includes(hit.difficulty)) {
      const difficulty = element("span", "qakb-search__difficulty", hit.difficulty);
      difficulty.dataset.difficulty = hit.difficulty;
      details.append(difficulty);
    }

    const level = relevanceLevel(hit);
    const relevance = element("span", "qakb-search__relevance");
    relevance.dataset.level = String(level + 1);
    const bars = element("span", "qakb-search__bars");
    bars.setAttribute("aria-hidden", "true");
    for (let bar = 0; bar < RELEVANCE_LEVELS.length; bar++) {
      bars.append(element("span", bar <= level ? "qakb-search__bar qakb-search__bar--on" : "qakb-search__bar"));
    }
    relevance.append(bars, element("span", "qakb-search__relevance-label", RELEVANCE_LEVELS[level]));
    details.append(relevance);

    if (hit.needs_review) {
      details.append(element("span", "qakb-search__flag", "Needs review"));
    }
    option.append(details);
    return option;
  }

  class ResultsPanel {
    constructor(input) {
      this.input = input;
      this.activeIndex = -1;
      this.root = element("section", "qakb-search");
      this.root.setAttribute("aria-labelledby", "qakb-search-title");
      const header = element("div", "qakb-search__header");
      const title = element("span", "qakb-search__title", "Semantic matches");
      title.id = "qakb-search-title";
      this.status = element("span", "qakb-search__status");
      this.status.setAttribute("role", "status");
      header.append(title, this.status);
      this.listbox = element("div", "qakb-search__list");
      this.listbox.id = "qakb-search-listbox";
      this.listbox.setAttribute("role", "listbox");
      this.listbox.setAttribute("aria-labelledby", "qakb-search-title");
      this.listbox.hidden = true;
      this.root.append(header, this.listbox);
      this.root.hidden = true;

      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-controls", this.listbox.id);
      input.setAttribute("aria-expanded", "false");
    }

    get options() {
      return Array.from(this.listbox.children);
    }

    showStatus(kind, text) {
      this.root.hidden = false;
      this.root.dataset.state = kind;
      this.status.textContent = text;
    }

    hide() {
      this.root.hidden = true;
      this.status.textContent = "";
    }

    showResults(hits) {
      // With no close question, the nearest few are enough to show that nothing fits.
      const shown = hits.length && hits[0].close === false ? hits.slice(0, WEAK_RESULT_COUNT) : hits;
      const options = shown.filter(resultURL).map((hit, index) => resultOption(hit, index));
      this.listbox.replaceChildren(...options);
      this.listbox.hidden = options.length === 0;
      this.input.setAttribute("aria-expanded", String(options.length > 0));
      this.setActive(-1);
      const close = options.length > 0 && hits[0].close !== false;
      this.showStatus(close ? "results" : "none",
        close ? `${options.length} closest questions` : options.length ? MESSAGES.none : MESSAGES.empty);
    }

    clearResults() {
      this.listbox.replaceChildren();
      this.listbox.hidden = true;
      this.input.setAttribute("aria-expanded", "false");
      this.setActive(-1);
    }

    setActive(index) {
      this.options.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
      this.activeIndex = index;
      if (index >= 0) {
        const option = this.options[index];
        this.input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      } else {
        this.input.removeAttribute("aria-activedescendant");
      }
    }
  }

  // ---- wiring into Material's search box -------------------------------------------

  function attach(input, scrollwrap) {
    const panel = new ResultsPanel(input);
    scrollwrap.prepend(panel.root);
    let latestQuery = 0; // ticket of the newest text in the box
    let drawnQuery = 0; // ticket of the results on screen
    let throttle = null;
    let booted = false;

    function boot() {
      if (booted) {
        return;
      }
      booted = true;
      if (state !== "ready") {
        panel.showStatus("loading", MESSAGES.loading);
      }
      startEngine().then(
        () => {
          panel.hide();
          runQuery();
        },
        () => {
          panel.clearResults();
          panel.showStatus("failed", MESSAGES.failed);
        },
      );
    }

    // Searches the box's text now. Results replace older ones on screen, never newer
    // ones, so while typing the list follows the text, and at the end it matches it.
    function runQuery() {
      const ticket = ++latestQuery;
      const query = input.value;
      if (state !== "ready") {
        return;
      }
      if (!query.trim()) {
        drawnQuery = ticket;
        panel.clearResults();
        panel.hide();
        return;
      }
      search(query).then(
        (hits) => {
          if (hits && ticket > drawnQuery) {
            drawnQuery = ticket;
            panel.showResults(hits);
            document.dispatchEvent(new CustomEvent("qakb-search:results", { detail: { query, hits } }));
          }
        },
        (error) => console.error("qakb: search failed:", error.message),
      );
    }

    let heldKeyup = null;
    document.addEventListener("keyup", (event) => {
      if (event.target !== input || !event.isTrusted) {
        return;
      }
      event.stopImmediatePropagation();
      clearTimeout(heldKeyup);
      const { key, code } = event;
      heldKeyup = setTimeout(() => input.dispatchEvent(new KeyboardEvent("keyup", { key, code, bubbles: true })),
        KEYWORD_PAUSE_MS);
    }, true);

    input.addEventListener("focus", boot);
    // The first key after a pause searches at once; keys that follow within THROTTLE_MS
    // share one search, run when that time is up, for the box's text then.
    let lastRun = -Infinity;
    input.addEventListener("input", () => {
      latestQuery++;
      if (throttle !== null) {
        return;
      }
      const wait = lastRun + THROTTLE_MS - performance.now();
      const run = () => {
        throttle = null;
        lastRun = performance.now();
        runQuery();
      };
      if (wait <= 0) {
        run();
      } else {
        throttle = setTimeout(run, wait);
      }
    });

    // Handled on the input itself, before Material's window-level handler sees the key.
    // Keys the semantic list does not use are left to Material (keyword results).
    input.addEventListener("keydown", (event) => {
      const count = panel.options.length;
      if (!count || event.isComposing || event.metaKey || event.ctrlKey || event.altKey) {
        return;
      }
      let handled = true;
      if (event.key === "ArrowDown" && panel.activeIndex < count - 1) {
        panel.setActive(panel.activeIndex + 1);
      } else if (event.key === "ArrowDown") {
        panel.setActive(-1); // past the last semantic result: on to Material's keyword results
        handled = false;
      } else if (event.key === "ArrowUp" && panel.activeIndex >= 0) {
        panel.setActive(panel.activeIndex - 1);
      } else if (event.key === "Enter") {
        panel.options[Math.max(0, panel.activeIndex)].click();
      } else {
        handled = false;
      }
      if (handled) {
        event.preventDefault();
        event.stopPropagation();
      }
    });
    // The page a result opens highlights the passage the result showed.
    panel.listbox.addEventListener("click", (event) => {
      const option = event.target.closest(".qakb-search__option");
      if (option && option.dataset.passage) {
        try {
          sessionStorage.setItem(PASSAGE_KEY, JSON.stringify({ url: option.href, passage: option.dataset.passage }));
        } catch {
          // storage refused (private mode, quota): the answer is still highlighted, not the passage
        }
      }
    });
    panel.listbox.addEventListener("mousemove", (event) => {
      const option = event.target.closest(".qakb-search__option");
      if (option) {
        panel.setActive(panel.options.indexOf(option));
      }
    });

    const mode = startMode();
    if (document.activeElement === input) {
      boot();
    } else if (mode === "eager") {
      startEngine().catch(() => {}); // started in the page's head already: taken over now
    } else if (mode === "idle") {
      // Option search_start: idle. The engine starts once the page has loaded, so it is
      // usually ready by the time the box is; a first focus before that shows the loading state.
      const start = () => (window.requestIdleCallback || setTimeout)(() => startEngine().catch(() => {}), { timeout: 1000 });
      if (document.readyState === "complete") {
        start();
      } else {
        window.addEventListener("load", start, { once: true });
      }
    }
  }

  function startMode() {
    try {
      return readConfig().start;
    } catch {
      return "focus"; // no search block: startEngine reports it on first focus
    }
  }

  // ---- highlighting the answer a result opened -------------------------------------

  // A question is a heading with the anchor as id; its answer is what follows up to
  // the next heading of the same or a higher level. Those nodes are moved, not
  // re-created, into one box so the highlight reads as a single block.
  function highlightTarget() {
    if (window.CSS && CSS.highlights) {
      CSS.highlights.delete("qakb-passage");
    }
    const previous = document.querySelector(".qakb-highlight");
    if (previous && previous.dataset.qakbWrapper) {
      previous.replaceWith(...previous.childNodes);
    } else if (previous) {
      previous.classList.remove("qakb-highlight");
    }
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id ? document.getElementById(id) : null;
    if (!target || !target.closest(".md-content")) {
      return;
    }
    const level = /^H([1-6])$/.exec(target.tagName);
    if (!level) {
      target.classList.add("qakb-highlight");
      return;
    }
    const section = [target];
    for (let node = target.nextElementSibling; node; node = node.nextElementSibling) {
      const other = /^H([1-6])$/.exec(node.tagName);
      if (other && Number(other[1]) <= Number(level[1])) {
        break;
      }
      section.push(node);
    }
    const box = element("div", "qakb-highlight");
    box.dataset.qakbWrapper = "true";
    target.before(box);
    box.append(...section);
    highlightPassage(box, section.slice(1));
  }

  // The passage a search result showed (saved on click), found in the answer's text and
  // highlighted with the CSS Custom Highlight API, so the page's DOM is left as it is.
  function highlightPassage(box, answerNodes) {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(PASSAGE_KEY) || "null");
      sessionStorage.removeItem(PASSAGE_KEY);
    } catch {
      return;
    }
    if (!saved || saved.url !== location.href || typeof saved.passage !== "string") {
      return;
    }
    const range = findText(answerNodes, saved.passage);
    if (!range) {
      return;
    }
    if (window.CSS && CSS.highlights && window.Highlight) {
      CSS.highlights.set("qakb-passage", new Highlight(range));
    }
    const start = range.startContainer.parentElement;
    if (start) {
      start.scrollIntoView({ block: "center" });
    }
  }

  // A Range over `text` in the nodes' text, spaces compared loosely; failing the whole
  // passage (math typeset, list markers), over its first words.
  function findText(nodes, text) {
    const pieces = [];
    let flat = "";
    for (const root of nodes) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.data.length; i++) {
          const space = /\s/.test(node.data[i]);
          if (space && (flat.endsWith(" ") || flat === "")) {
            continue;
          }
          pieces.push([node, i]);
          flat += space ? " " : node.data[i];
        }
      }
    }
    const words = text.split(/\s+/).filter(Boolean);
    for (const count of [words.length, Math.min(words.length, 8), Math.min(words.length, 4)]) {
      const wanted = words.slice(0, count).join(" ");
      const at = wanted ? flat.indexOf(wanted) : -1;
      if (at >= 0) {
        const range = document.createRange();
        const [startNode, startOffset] = pieces[at];
        const [endNode, endOffset] = pieces[at + wanted.length - 1];
        range.setStart(startNode, startOffset);
        range.setEnd(endNode, endOffset + 1);
        return range;
      }
    }
    return null;
  }

  // Material's instant navigation swaps the page's content but keeps the header, and with it
  // the search box and this script's engine: the box is wired once, each new page highlighted.
  function init() {
    window.addEventListener("hashchange", highlightTarget);
    if (window.document$ && typeof window.document$.subscribe === "function") {
      window.document$.subscribe(highlightTarget);
    } else {
      highlightTarget();
    }
    const input = document.querySelector('[data-md-component="search-query"]');
    const scrollwrap = document.querySelector(".md-search__scrollwrap");
    const dialog = document.querySelector('[data-md-component="search"][role="dialog"]');
    if (dialog && input && !dialog.hasAttribute("aria-label")) {
      dialog.setAttribute("aria-label", input.getAttribute("aria-label") || "Search"); // Material leaves it unnamed
    }
    if (input && scrollwrap) {
      attach(input, scrollwrap);
    }
  }

  // For tests and the benchmark: the same path the search box uses.
  window.qakbSearch = {
    get state() {
      return state;
    },
    get engineStarts() {
      return engineStarts;
    },
    start: startEngine,
    search,
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
