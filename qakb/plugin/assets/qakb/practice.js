// The practice page: one question at a time, its answer hidden until revealed, then rated
// Again / Hard / Good / Easy and scheduled by FSRS (ts-fsrs, served by the site under
// assets/ts-fsrs/). Due questions come first, oldest first, then new ones in bank order,
// from the topics and difficulties the reader chose.
//
// Everything is loaded when the page opens, so a session goes on offline: the questions and
// every answer's sanitised HTML (practice/answers.json and the further parts it names, written
// by qakb.render) and the scheduler. The state is practice-store.js's.
// Keys: Space shows the answer, 1-4 rate it.
(() => {
  "use strict";

  const store = window.qakbPractice;
  const { bar, element } = window.qakbProgress;
  const SITE_ROOT = store.SITE_ROOT;
  const ANSWERS_URL = new URL("practice/answers.json", SITE_ROOT);
  const SCHEDULER_URL = new URL("assets/ts-fsrs/index.mjs", SITE_ROOT);
  const ANSWERS_FORMAT = "qakb-practice-answers";
  const ANSWERS_VERSION = 2;
  const MEDIA_PREFIX = "qakb-media:";
  const FILTERS_KEY = `qakb-practice-filters:${SITE_ROOT.pathname}`;
  const RATINGS = [
    { value: 1, label: "Again", key: "1" },
    { value: 2, label: "Hard", key: "2" },
    { value: 3, label: "Good", key: "3" },
    { value: 4, label: "Easy", key: "4" },
  ];
  const DIFFICULTIES = [["easy", "Easy"], ["medium", "Medium"], ["hard", "Hard"], ["", "Not marked"]];
  const STATUS_BADGES = { new: "New", due: "Due", learning: "Learning", mastered: "Mastered" };
  // A question coming back within this long is waited for on the page.
  const WAIT_LIMIT_MS = 60 * 60 * 1000;

  let session = null; // the page's practice session; a new page (instant navigation) makes a new one

  // ---- loading ------------------------------------------------------------------------------

  async function loadPart(url) {
    const response = await fetch(url);
    const name = url.pathname.slice(SITE_ROOT.pathname.length);
    if (!response.ok) {
      throw new Error(`${name}: HTTP ${response.status}`);
    }
    const data = await response.json();
    if (!data || data.format !== ANSWERS_FORMAT || data.version !== ANSWERS_VERSION) {
      throw new Error(`${name} is not the practice answers file: run \`qakb build\` again`);
    }
    return data;
  }

  // The answered questions' rows, in bank order, and their answers: answers.json, then the parts
  // it names (a big bank's answers are cut into files a host takes), fetched together.
  async function loadAnswers() {
    const first = await loadPart(ANSWERS_URL);
    const parts = [first, ...await Promise.all((first.more || []).map((path) => loadPart(new URL(path, SITE_ROOT))))];
    return {
      questions: parts.flatMap((part) => part.questions),
      answers: Object.assign({}, ...parts.map((part) => part.answers)),
      prompts: Object.assign({}, ...parts.map((part) => part.prompts || {})),
    };
  }

  async function start(container) {
    session?.stop();
    let rows, answers, fsrs, state;
    try {
      [answers, fsrs] = await Promise.all([loadAnswers(), import(SCHEDULER_URL.href)]);
      // Only answered questions are practised: the files hold those alone.
      rows = answers.questions;
      state = await store.currentState(rows.map((row) => row.id));
    } catch (error) {
      container.replaceChildren(element("p", { className: "qakb-practice__error", role: "alert" },
        `Practice could not load (${error.message}). Reload the page to try again.`));
      return;
    }
    if (!container.isConnected) {
      return;
    }
    session = new Session(container, rows, answers, fsrs, state);
  }

  // ---- small helpers ------------------------------------------------------------------------

  function plural(count, noun) {
    return `${count} ${noun}${count === 1 ? "" : "s"}`;
  }

  // "in 10 min", "in 6 days": how far `date` is from `now`.
  function interval(date, now) {
    const minutes = Math.max(0, (date.getTime() - now.getTime()) / 60000);
    if (minutes < 1) {
      return "now";
    }
    if (minutes < 60) {
      return `${Math.round(minutes)} min`;
    }
    if (minutes < 24 * 60) {
      return `${Math.round(minutes / 60)} h`;
    }
    const days = minutes / (24 * 60);
    if (days < 30.5) {
      return plural(Math.round(days), "day");
    }
    if (days < 365) {
      return `${(days / 30.4).toFixed(1).replace(/\.0$/, "")} mo`;
    }
    return `${(days / 365).toFixed(1).replace(/\.0$/, "")} yr`;
  }

  function slugOf(text) {
    return text.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "qakb";
  }

  function typing(event) {
    const target = event.target;
    return target instanceof HTMLElement
      && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  // The answer's sanitised HTML, parsed inert first so that bank images point at the site's
  // media folder before anything loads.
  function answerNode(html, className = "qakb-answer") {
    const template = document.createElement("template");
    template.innerHTML = html;
    for (const attribute of ["src", "href"]) {
      for (const node of template.content.querySelectorAll(`[${attribute}^="${MEDIA_PREFIX}"]`)) {
        const name = node.getAttribute(attribute).slice(MEDIA_PREFIX.length);
        node.setAttribute(attribute, new URL(`media/${name}`, SITE_ROOT).href);
      }
    }
    return element("div", { className }, template.content);
  }

  // ---- the session --------------------------------------------------------------------------

  class Session {
    constructor(container, rows, answers, fsrs, state) {
      this.container = container;
      this.siteName = container.dataset.qakbSite || document.title;
      this.rows = rows;
      this.answers = answers.answers;
      this.prompts = answers.prompts;
      this.fsrs = fsrs;
      this.scheduler = fsrs.fsrs(fsrs.generatorParameters({ enable_fuzz: true }));
      this.topics = [];
      const topicTitles = new Map();
      for (const row of rows) {
        if (!topicTitles.has(row.topic)) {
          topicTitles.set(row.topic, row.topic_title);
          this.topics.push({ slug: row.topic, title: row.topic_title });
        }
      }
      // The difficulty filter appears when the bank marks difficulties at all.
      this.difficulties = rows.some((row) => row.difficulty)
        ? DIFFICULTIES.filter(([value]) => rows.some((row) => (row.difficulty || "") === value)) : [];
      this.filters = this.initialFilters();
      this.saveFilters();
      this.state = state;
      this.current = null;
      this.lastRating = null;
      this.timer = null;
      this.onKey = (event) => this.key(event);
      this.build();
      document.addEventListener("keydown", this.onKey);
      this.unsubscribe = store.subscribe(() => this.stateChanged());
      this.next();
    }

    stop() {
      clearTimeout(this.timer);
      document.removeEventListener("keydown", this.onKey);
      this.unsubscribe();
    }

    // ---- choosing questions --------------------------------------------------------------

    initialFilters() {
      const known = new Set(this.topics.map((topic) => topic.slug));
      let saved = {};
      try {
        saved = JSON.parse(window.localStorage.getItem(FILTERS_KEY) || "{}") || {};
      } catch (error) {
        saved = {};
      }
      // "Practise this topic" on a topic page links here with ?topic=SLUG: that choice is
      // saved, and the address cleaned, so that a reload keeps the reader's later choices.
      const fromLink = new URLSearchParams(location.search).get("topic");
      if (fromLink !== null) {
        history.replaceState(history.state, "", location.pathname + location.hash);
      }
      const topics = fromLink && known.has(fromLink) ? [fromLink]
        : Array.isArray(saved.topics) ? saved.topics.filter((slug) => known.has(slug)) : null;
      const difficulties = Array.isArray(saved.difficulties) ? saved.difficulties : null;
      return {
        topics: new Set(topics && topics.length ? topics : known),
        difficulties: new Set(difficulties && difficulties.length ? difficulties : this.difficulties.map(([value]) => value)),
      };
    }

    saveFilters() {
      const all = (chosen, everything) => chosen.size === everything.length;
      const data = {
        topics: all(this.filters.topics, this.topics) ? null : [...this.filters.topics],
        difficulties: all(this.filters.difficulties, this.difficulties) ? null : [...this.filters.difficulties],
      };
      try {
        window.localStorage.setItem(FILTERS_KEY, JSON.stringify(data));
      } catch (error) {
        // The choice holds for this visit.
      }
    }

    chosen(row) {
      return this.filters.topics.has(row.topic)
        && (!this.difficulties.length || this.filters.difficulties.has(row.difficulty || ""));
    }

    selection() {
      return this.rows.filter((row) => this.chosen(row));
    }

    // Due questions first (the longest overdue first), then new ones in bank order.
    pick(now) {
      const rows = this.selection();
      const due = rows.filter((row) => store.isDue(this.state.cards[row.id], now))
        .sort((a, b) => new Date(this.state.cards[a.id].due) - new Date(this.state.cards[b.id].due));
      if (due.length) {
        return due[0];
      }
      return rows.find((row) => store.isNew(this.state.cards[row.id])) || null;
    }

    // The next question of the selection to come back, for the "all done" message.
    upcoming() {
      let soonest = null;
      for (const row of this.selection()) {
        const card = this.state.cards[row.id];
        if (!store.isNew(card) && (!soonest || new Date(card.due) < new Date(soonest.card.due))) {
          soonest = { row, card };
        }
      }
      return soonest;
    }

    // ---- the page ------------------------------------------------------------------------

    build() {
      this.overview = element("div", { className: "qakb-practice__overview" });
      this.choice = this.buildChoice();
      this.card = element("article", { className: "qakb-card", "aria-label": "Question" });
      this.feedback = element("p", { className: "qakb-practice__feedback", role: "status" });
      this.data = this.buildData();
      this.container.replaceChildren(this.overview, this.choice, this.feedback, this.card, this.data);
    }

    buildChoice() {
      this.choiceSummary = element("summary", { className: "qakb-practice__choice-summary" });
      const details = element("details", { className: "qakb-practice__choice" }, this.choiceSummary);
      this.topicBoxes = this.checkboxGroup(details, "Topics", "All topics",
        this.topics.map((topic) => [topic.slug, topic.title]), this.filters.topics, (values) => { this.filters.topics = values; });
      if (this.difficulties.length) {
        this.difficultyBoxes = this.checkboxGroup(details, "Difficulty", "Any difficulty",
          this.difficulties, this.filters.difficulties, (values) => { this.filters.difficulties = values; });
      }
      return details;
    }

    // A fieldset of checkboxes with an "all" box; `apply` receives the chosen values.
    checkboxGroup(parent, legend, allLabel, options, chosen, apply) {
      const boxes = options.map(([value, label]) => {
        const input = element("input", { type: "checkbox", value });
        input.checked = chosen.has(value);
        const count = element("span", { className: "qakb-practice__option-count" });
        return { input, count, value, label: element("label", { className: "qakb-practice__option" }, input, ` ${label} `, count) };
      });
      const all = element("input", { type: "checkbox" });
      const sync = () => {
        const checked = boxes.filter((box) => box.input.checked).length;
        all.checked = checked === boxes.length;
        all.indeterminate = checked > 0 && checked < boxes.length;
      };
      const changed = () => {
        sync();
        apply(new Set(boxes.filter((box) => box.input.checked).map((box) => box.value)));
        this.saveFilters();
        this.current = null;
        this.next();
      };
      all.addEventListener("change", () => {
        boxes.forEach((box) => { box.input.checked = all.checked; });
        changed();
      });
      boxes.forEach((box) => box.input.addEventListener("change", changed));
      sync();
      parent.append(element("fieldset", { className: "qakb-practice__group" },
        element("legend", {}, legend),
        element("label", { className: "qakb-practice__option qakb-practice__option--all" }, all, ` ${allLabel}`),
        ...boxes.map((box) => box.label)));
      return boxes;
    }

    buildData() {
      const exportButton = element("button", { type: "button", className: "md-button" }, "Export progress");
      exportButton.addEventListener("click", () => this.exportProgress());
      this.importInput = element("input", { type: "file", accept: ".json,application/json", className: "qakb-practice__file",
                                             "aria-label": "Progress file to import" });
      this.importInput.addEventListener("change", () => this.importProgress());
      const importButton = element("button", { type: "button", className: "md-button" }, "Import progress");
      importButton.addEventListener("click", () => this.importInput.click());
      const resetButton = element("button", { type: "button", className: "md-button qakb-practice__reset" }, "Reset progress…");
      this.resetDialog = this.buildResetDialog();
      resetButton.addEventListener("click", () => this.resetDialog.showModal());
      this.dataMessage = element("p", { className: "qakb-practice__data-message", role: "status" });
      return element("section", { className: "qakb-practice__data", "aria-labelledby": "qakb-practice-data" },
        element("h2", { id: "qakb-practice-data" }, "Your progress data"),
        element("p", {}, "Your progress is kept in this browser only. Export it to a file to keep a copy or to "
          + "continue on another device, and import that file there: progress on each question is merged, "
          + "the most recent review wins."),
        element("div", { className: "qakb-practice__data-actions" }, exportButton, importButton, this.importInput, resetButton),
        this.dataMessage, this.resetDialog);
    }

    buildResetDialog() {
      const cancel = element("button", { type: "submit", value: "cancel", className: "md-button" }, "Cancel");
      const confirm = element("button", { type: "submit", value: "reset", className: "md-button qakb-practice__reset-confirm" },
        "Reset progress");
      const dialog = element("dialog", { className: "qakb-practice__dialog", "aria-labelledby": "qakb-reset-title" },
        element("form", { method: "dialog" },
          element("h2", { id: "qakb-reset-title" }, "Reset all practice progress?"),
          element("p", {}, "Every question on this site goes back to new, in this browser. This cannot be undone: "
            + "export your progress first to keep a copy."),
          element("div", { className: "qakb-practice__dialog-actions" }, cancel, confirm)));
      dialog.addEventListener("close", () => {
        if (dialog.returnValue === "reset") {
          this.guarded(() => store.reset());
          this.lastRating = null;
          this.current = null;
          this.dataMessage.textContent = "Your practice progress was reset.";
          this.stateChanged();
        }
        dialog.returnValue = "";
      });
      return dialog;
    }

    // ---- drawing -------------------------------------------------------------------------

    drawOverview(now) {
      const rows = this.selection();
      const summary = store.summarize(rows.map((row) => row.id), this.state, now);
      const reviewed = store.reviewedSince(this.state, store.startOfDay(now));
      const counts = element("p", { className: "qakb-practice__counts" },
        element("span", { className: "qakb-practice__count qakb-practice__count--due" },
          element("strong", {}, String(summary.due)), " due today"),
        element("span", { className: "qakb-practice__count" }, element("strong", {}, String(summary.new)), " new"),
        element("span", { className: "qakb-practice__count" }, element("strong", {}, String(reviewed)), " reviewed today"));
      this.overview.replaceChildren(counts, bar(summary));

      const allTopics = this.filters.topics.size === this.topics.length;
      const topicText = allTopics ? "All topics"
        : this.filters.topics.size === 1 ? this.topics.find((topic) => this.filters.topics.has(topic.slug)).title
          : `${this.filters.topics.size} of ${this.topics.length} topics`;
      const difficultyText = !this.difficulties.length || this.filters.difficulties.size === this.difficulties.length ? ""
        : ` · ${this.difficulties.filter(([value]) => this.filters.difficulties.has(value)).map(([, label]) => label).join(", ")}`;
      this.choiceSummary.replaceChildren(element("span", { className: "qakb-practice__choice-label" }, "Questions: "),
        `${topicText}${difficultyText} (${rows.length})`);
      for (const box of this.topicBoxes) {
        const topicRows = this.rows.filter((row) => row.topic === box.value
          && (!this.difficulties.length || this.filters.difficulties.has(row.difficulty || "")));
        const due = topicRows.filter((row) => store.status(this.state.cards[row.id], now) === "due").length;
        box.count.textContent = `${topicRows.length}${due ? ` · ${due} due` : ""}`;
      }
    }

    next() {
      clearTimeout(this.timer);
      const now = new Date();
      this.drawOverview(now);
      const row = this.pick(now);
      this.current = row ? { row, revealed: false } : null;
      if (row) {
        this.drawCard(now);
      } else {
        this.drawDone(now);
      }
    }

    drawCard(now) {
      const { row } = this.current;
      const card = this.state.cards[row.id];
      const status = store.status(card, now);
      const meta = element("p", { className: "qakb-card__meta" },
        element("span", { className: `qakb-card__badge qakb-card__badge--${status}` }, STATUS_BADGES[status]),
        " ", element("span", { className: "qakb-card__topic" }, row.topic_title),
        ` · Q${row.number}`);
      if (row.difficulty) {
        meta.append(` · ${DIFFICULTIES.find(([value]) => value === row.difficulty)?.[1] || row.difficulty}`);
      }
      if (row.needs_review) {
        meta.append(" · ", element("span", { className: "qakb-card__review" }, "answer needs review"));
      }
      this.question = element("h2", { className: "qakb-card__question", tabindex: "-1" }, row.question);
      this.revealButton = element("button", { type: "button", className: "md-button md-button--primary qakb-card__reveal" },
        "Show answer");
      this.revealButton.addEventListener("click", () => this.reveal());
      this.answer = element("div", { className: "qakb-card__answer", tabindex: "-1", "aria-label": "Answer", hidden: "" },
        answerNode(this.answers[row.id] || "<p>(This answer is missing from practice/answers.json: rebuild the site.)</p>"),
        element("p", { className: "qakb-card__source" },
          element("a", { href: new URL(row.url, SITE_ROOT).href }, "Read it on its topic page")));
      this.ratings = element("div", { className: "qakb-card__ratings", role: "group", "aria-labelledby": "qakb-rate-title", hidden: "" },
        element("p", { className: "qakb-card__ratings-title", id: "qakb-rate-title" }, "How well did you remember it?"),
        element("div", { className: "qakb-card__rating-buttons" }, ...this.ratingButtons(card, now)));
      const prompt = this.prompts[row.id] ? answerNode(this.prompts[row.id], "qakb-prompt") : "";
      this.card.replaceChildren(meta, this.question, prompt,
        element("div", { className: "qakb-card__reveal-row" }, this.revealButton,
          element("span", { className: "qakb-card__keys", "aria-hidden": "true" }, element("kbd", {}, "Space"))),
        this.answer, this.ratings);
    }

    ratingButtons(card, now) {
      const outcomes = this.scheduler.repeat(card || this.fsrs.createEmptyCard(now), now);
      return RATINGS.map((rating) => {
        const button = element("button", { type: "button", className: `qakb-rate qakb-rate--${rating.label.toLowerCase()}`,
                                            "data-rating": String(rating.value) },
          element("span", { className: "qakb-rate__label" }, rating.label),
          element("span", { className: "qakb-rate__when" }, interval(outcomes[rating.value].card.due, now)),
          element("kbd", { className: "qakb-rate__key", "aria-hidden": "true" }, rating.key));
        button.addEventListener("click", () => this.rate(rating));
        return button;
      });
    }

    drawDone(now) {
      const message = element("div", { className: "qakb-card__done" });
      if (!this.selection().length) {
        message.append(element("h2", {}, "No questions chosen"),
          element("p", {}, "No question is in the topics" + (this.difficulties.length ? " and difficulties" : "")
            + " you chose: choose more above."));
      } else {
        const soonest = this.upcoming();
        message.append(element("h2", { tabindex: "-1" }, "All done for now"));
        if (soonest) {
          const due = new Date(soonest.card.due);
          message.append(element("p", {}, "Nothing in your selection is due now and every question has been seen. "
            + `The next one comes back in ${interval(due, now)}: “${soonest.row.question}”.`));
          if (due - now < WAIT_LIMIT_MS) {
            this.timer = setTimeout(() => this.next(), Math.max(1000, due - now + 500));
          }
        }
        message.append(element("p", {}, "Choose more topics above, or come back when questions are due."));
      }
      this.card.replaceChildren(message);
    }

    // ---- acting --------------------------------------------------------------------------

    reveal() {
      if (!this.current || this.current.revealed) {
        return;
      }
      this.current.revealed = true;
      this.revealButton.parentElement.hidden = true;
      this.answer.hidden = false;
      this.ratings.hidden = false;
      window.qakbMath?.typeset(this.answer);
      this.answer.focus({ preventScroll: true });
    }

    rate(rating) {
      if (!this.current || !this.current.revealed) {
        return;
      }
      const now = new Date();
      const { row } = this.current;
      this.state = store.load(); // another tab may have practised meanwhile
      const before = this.state.cards[row.id] || null;
      const result = this.scheduler.next(before || this.fsrs.createEmptyCard(now), now, rating.value);
      store.record(this.state, row.id, result.card, rating.value, now);
      if (!this.guarded(() => store.save(this.state))) {
        return;
      }
      this.lastRating = { row, before, time: now.getTime() };
      this.next();
      this.announce(`${rating.label}: “${row.question}” comes back ${store.isDue(result.card, now) ? "now" : `in ${interval(new Date(result.card.due), now)}`}.`, true);
      (this.current ? this.question : this.card.querySelector("h2"))?.focus({ preventScroll: true });
      if (this.card.getBoundingClientRect().top < 0) {
        this.card.scrollIntoView({ block: "start" });
      }
    }

    undo() {
      const last = this.lastRating;
      if (!last) {
        return;
      }
      this.lastRating = null;
      this.state = store.load();
      if (last.before) {
        this.state.cards[last.row.id] = last.before;
      } else {
        delete this.state.cards[last.row.id];
      }
      const index = this.state.reviews.findLastIndex((review) => review[0] === last.row.id && review[2] === last.time);
      if (index >= 0) {
        this.state.reviews.splice(index, 1);
      }
      if (!this.guarded(() => store.save(this.state))) {
        return;
      }
      const now = new Date();
      this.drawOverview(now);
      this.current = { row: last.row, revealed: false };
      this.drawCard(now);
      this.reveal();
      this.announce(`Rating undone: rate “${last.row.question}” again.`, false);
    }

    announce(text, withUndo) {
      this.feedback.replaceChildren(text);
      if (withUndo) {
        const undo = element("button", { type: "button", className: "qakb-practice__undo" }, "Undo");
        undo.addEventListener("click", () => this.undo());
        this.feedback.append(" ", undo);
      }
    }

    // Runs a change of the stored state; says so when the browser refuses to store it.
    guarded(change) {
      try {
        change();
        return true;
      } catch (error) {
        this.announce("Your browser did not save this (its storage is full or turned off for this site). "
          + "Export your progress to keep it.", false);
        return false;
      }
    }

    stateChanged() {
      this.state = store.load();
      if (!this.current || !this.current.revealed) {
        this.next();
      } else {
        this.drawOverview(new Date());
      }
    }

    key(event) {
      if (!this.container.isConnected) {
        this.stop();
        return;
      }
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event) || this.resetDialog.open) {
        return;
      }
      if (event.key === " " && this.current && !this.current.revealed
          && !(event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement
               || event.target instanceof HTMLElement && event.target.closest("summary"))) {
        event.preventDefault();
        this.reveal();
      }
      const rating = RATINGS.find((candidate) => candidate.key === event.key);
      if (rating && this.current && this.current.revealed) {
        event.preventDefault();
        this.rate(rating);
      }
    }

    // ---- export, import ------------------------------------------------------------------

    exportProgress() {
      const now = new Date();
      const data = store.exportDocument(store.load(), this.siteName, now);
      const blob = new Blob([JSON.stringify(data, null, 1) + "\n"], { type: "application/json" });
      const link = element("a", { href: URL.createObjectURL(blob),
                                  download: `${slugOf(this.siteName)}-practice-${now.toISOString().slice(0, 10)}.json` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      const count = Object.keys(data.cards).length;
      this.dataMessage.textContent = `Exported your progress on ${plural(count, "question")} to ${link.download}.`;
    }

    async importProgress() {
      const file = this.importInput.files[0];
      this.importInput.value = "";
      if (!file) {
        return;
      }
      let imported;
      try {
        imported = store.parseImport(await file.text());
      } catch (error) {
        this.dataMessage.textContent = `Nothing imported from ${file.name}: ${error.message}.`;
        return;
      }
      const { state, updated } = store.merge(store.load(), imported.state);
      if (!this.guarded(() => store.save(state))) {
        return;
      }
      // Progress on former ids of this site's questions moves to them; the rest stays aside.
      const kept = (await store.currentState(this.rows.map((row) => row.id))).cards;
      const current = new Set(this.rows.map((row) => row.id));
      const unknown = Object.keys(imported.state.cards).filter((id) => !current.has(id) && id in kept).length;
      this.dataMessage.textContent = `Imported ${file.name}: progress on ${plural(Object.keys(imported.state.cards).length, "question")}`
        + `, ${updated} newer than what this browser had`
        + (unknown ? `; ${unknown} ${unknown === 1 ? "is" : "are"} not on this site (kept in case they return)` : "")
        + (imported.dropped ? `; ${imported.dropped} malformed ${imported.dropped === 1 ? "entry" : "entries"} skipped` : "")
        + ".";
      this.current = null;
      this.stateChanged();
    }
  }

  function init() {
    const container = document.getElementById("qakb-practice");
    if (container) {
      start(container);
    } else {
      session?.stop();
      session = null;
    }
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
