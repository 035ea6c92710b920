// Practice progress on the home and topic pages, and the "hide answers" switch.
//
// The generated pages hold an empty .qakb-progress[data-qakb-topic] per topic (a cell of
// the home page's table; a panel under a topic page's title). This script draws each as a
// bar of the topic's questions by their state in practice-store.js (mastered, learning,
// due, new) with the counts beside it; the topic page's panel also links to practice and
// holds the switch that hides every answer behind a "Show answer" button, for testing
// oneself in place. Each question already practised gets its state beside its number.
// Everything redraws when the practice state changes, in this tab or another.
(() => {
  "use strict";

  const store = window.qakbPractice;
  const HIDE_KEY = `qakb-hide-answers:${store.SITE_ROOT.pathname}`;
  const SEGMENTS = [
    ["mastered", "mastered"],
    ["learning", "learning"],
    ["due", "due"],
    ["new", "new"],
  ];
  const STATUS_LABELS = { due: "Due", learning: "Learning", mastered: "Mastered" };
  // The current page's answers, for the one hashchange listener (instant navigation swaps pages).
  let pageItems = [];

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "className") {
        node.className = value;
      } else if (value !== null && value !== undefined) {
        node.setAttribute(name, value);
      }
    }
    node.append(...children);
    return node;
  }

  function describe(summary) {
    return `${summary.seen} of ${summary.total} seen: ${summary.due} due, ${summary.learning} learning, `
      + `${summary.mastered} mastered, ${summary.new} new`;
  }

  // A stacked bar of `summary` (store.summarize) with a legend of the same counts.
  function bar(summary, { compact = false } = {}) {
    const track = element("span", { className: "qakb-bar__track", role: "img", "aria-label": describe(summary) });
    for (const [key] of SEGMENTS.slice(0, 3)) {
      if (summary[key] > 0) {
        const segment = element("span", { className: `qakb-bar__segment qakb-bar__segment--${key}` });
        segment.style.width = `${(100 * summary[key]) / Math.max(summary.total, 1)}%`;
        track.append(segment);
      }
    }
    const legend = element("span", { className: "qakb-bar__legend", "aria-hidden": "true" });
    if (compact) {
      legend.append(`${summary.seen}/${summary.total} seen`);
      if (summary.due) {
        legend.append(" · ", element("span", { className: "qakb-bar__due-count" }, `${summary.due} due`));
      }
    } else {
      SEGMENTS.forEach(([key, label], index) => {
        legend.append(index ? " " : "", element("span", { className: "qakb-bar__key" },
          element("span", { className: `qakb-bar__swatch qakb-bar__swatch--${key}` }), `${summary[key]} ${label}`));
      });
    }
    return element("span", { className: `qakb-bar${compact ? " qakb-bar--compact" : ""}` }, track, legend);
  }

  // ---- hiding answers on a topic page -------------------------------------------------------

  function answersHidden() {
    try {
      return window.localStorage.getItem(HIDE_KEY) === "1";
    } catch (error) {
      return false;
    }
  }

  function rememberAnswersHidden(hidden) {
    try {
      window.localStorage.setItem(HIDE_KEY, hidden ? "1" : "0");
    } catch (error) {
      // The switch still works on this page.
    }
  }

  // The question heading (h2 with the question's id) each answer belongs to.
  function questionHeadings(content) {
    const found = [];
    for (const answer of content.querySelectorAll(".qakb-answer")) {
      let node = answer.previousElementSibling;
      while (node && node.tagName !== "H2") {
        node = node.previousElementSibling;
      }
      if (node && node.id) {
        found.push({ heading: node, answer, meta: headingMeta(node) });
      }
    }
    return found;
  }

  function headingMeta(heading) {
    for (let node = heading.nextElementSibling; node && node.tagName !== "H2"; node = node.nextElementSibling) {
      if (node.classList.contains("qakb-meta")) {
        return node;
      }
    }
    return null;
  }

  function setRevealed(item, revealed) {
    item.answer.classList.toggle("qakb-answer--revealed", revealed);
    item.reveal.setAttribute("aria-expanded", String(revealed));
    item.reveal.textContent = revealed ? "Hide answer" : "Show answer";
  }

  function setUpHiding(content, toggle, items) {
    items.forEach((item, index) => {
      if (!item.answer.id) {
        item.answer.id = `qakb-answer-${index + 1}`;
      }
      item.reveal = element("button", { type: "button", className: "qakb-reveal md-button", "aria-controls": item.answer.id });
      item.reveal.addEventListener("click", () => setRevealed(item, !item.answer.classList.contains("qakb-answer--revealed")));
      item.answer.before(item.reveal);
      setRevealed(item, false);
    });
    const apply = (hidden) => {
      content.classList.toggle("qakb-answers-hidden", hidden);
      toggle.setAttribute("aria-pressed", String(hidden));
      if (hidden) {
        items.forEach((item) => setRevealed(item, false));
        revealTarget(items);
      }
    };
    toggle.addEventListener("click", () => {
      const hidden = toggle.getAttribute("aria-pressed") !== "true";
      rememberAnswersHidden(hidden);
      apply(hidden);
    });
    pageItems = items;
    apply(answersHidden());
  }

  // A link to one answer (a search result, a shared link) shows that answer even when hidden.
  function revealTarget(items) {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = items.find((item) => item.heading.id === id);
    if (target) {
      setRevealed(target, true);
    }
  }

  // ---- drawing ------------------------------------------------------------------------------

  function drawTopicPanel(slot, summary) {
    let panel = slot.querySelector(".qakb-progress__panel");
    if (!panel) {
      const practise = element("a", { className: "md-button md-button--primary", href: store.practiceURL(slot.dataset.qakbTopic).href },
        "Practise this topic");
      const toggle = element("button", { type: "button", className: "qakb-hide-toggle md-button", "aria-pressed": "false" },
        "Hide answers");
      panel = element("div", { className: "qakb-progress__panel" },
        element("p", { className: "qakb-progress__title" }, "Your progress"),
        element("div", { className: "qakb-progress__bar" }),
        element("div", { className: "qakb-progress__actions" }, practise, toggle));
      slot.append(panel);
      const content = slot.closest(".md-typeset") || document.body;
      setUpHiding(content, toggle, questionHeadings(content));
    }
    panel.querySelector(".qakb-progress__bar").replaceChildren(bar(summary));
  }

  function drawStatuses(state, now) {
    const content = document.querySelector(".md-content");
    if (!content) {
      return;
    }
    for (const { heading, meta } of questionHeadings(content)) {
      if (!meta) {
        continue;
      }
      const label = STATUS_LABELS[store.status(state.cards[heading.id], now)];
      let chip = meta.querySelector(".qakb-status");
      if (!label) {
        chip?.remove();
        continue;
      }
      if (!chip) {
        chip = element("span", { className: "qakb-status" });
        meta.append(" ", chip);
      }
      chip.className = `qakb-status qakb-status--${store.status(state.cards[heading.id], now)}`;
      chip.textContent = label;
    }
  }

  async function draw() {
    const slots = document.querySelectorAll(".qakb-progress[data-qakb-topic]");
    if (!slots.length) {
      return;
    }
    let topics;
    try {
      topics = await store.topicIds();
    } catch (error) {
      return; // no topic list, no progress to draw: the pages read fine without it
    }
    const idsByTopic = new Map(Object.entries(topics));
    const state = await store.currentState([...idsByTopic.values()].flat());
    const now = new Date();
    for (const slot of slots) {
      const summary = store.summarize(idsByTopic.get(slot.dataset.qakbTopic) || [], state, now);
      if (slot.tagName === "DIV") {
        drawTopicPanel(slot, summary);
        drawStatuses(state, now);
      } else {
        slot.replaceChildren(bar(summary, { compact: true }));
      }
    }
  }

  window.qakbProgress = { bar, element };
  window.addEventListener("hashchange", () => revealTarget(pageItems.filter((item) => item.answer.isConnected)));
  store.subscribe(draw);
  // Material's instant navigation swaps the page without a load event; document$ announces
  // every page, the first one included.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(draw);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
