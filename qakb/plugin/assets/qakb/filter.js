// The difficulty chips of a topic page: pressing some shows only questions of those
// difficulties (none pressed: all). The choice is kept in the URL (?difficulty=easy,hard,
// so a filtered page can be shared) and in localStorage (the next topic page opens the
// same way). A link to a question the filter hides clears the filter: a linked answer
// is always shown.
(() => {
  "use strict";

  const PARAM = "difficulty";
  const STORAGE_KEY = "qakb-difficulty";
  const HIDDEN = "qakb-filtered-out";
  // The page's filters, for the one hashchange listener; instant navigation makes new ones.
  let revealers = [];

  // A question is an h2 followed by its qakb-meta line; its section runs up to the next
  // element that is, or holds (widget.js's highlight box), another heading.
  function questionSections(root) {
    return [...root.querySelectorAll("h2[id]")]
      .filter((heading) => heading.nextElementSibling && heading.nextElementSibling.matches("p.qakb-meta"))
      .map((heading) => {
        const nodes = [heading];
        for (let node = heading.nextElementSibling; node; node = node.nextElementSibling) {
          if (node.matches("h1, h2") || node.querySelector("h1, h2")) {
            break;
          }
          nodes.push(node);
        }
        const label = heading.nextElementSibling.querySelector(".qakb-difficulty");
        return { heading, nodes, difficulty: label ? label.dataset.qakbDifficulty : "" };
      });
  }

  function stored() {
    try {
      return localStorage.getItem(STORAGE_KEY) || "";
    } catch (error) {
      return "";
    }
  }

  function save(levels) {
    try {
      localStorage.setItem(STORAGE_KEY, levels.join(","));
    } catch (error) {
      // Storage disabled: the URL still holds the choice.
    }
    const url = new URL(location.href);
    if (levels.length) {
      url.searchParams.set(PARAM, levels.join(","));
    } else {
      url.searchParams.delete(PARAM);
    }
    history.replaceState(history.state, "", url.href);
  }

  function setUp(filter) {
    const root = filter.closest("article") || document;
    const chips = [...filter.querySelectorAll(".qakb-chip")];
    const available = chips.map((chip) => chip.dataset.qakbDifficulty);
    const status = filter.querySelector(".qakb-filter__status");

    function apply(levels, remember) {
      const sections = questionSections(root);
      let shown = 0;
      for (const section of sections) {
        const visible = levels.length === 0 || levels.includes(section.difficulty);
        if (visible) {
          shown += 1;
        }
        for (const node of section.nodes) {
          node.classList.toggle(HIDDEN, !visible);
        }
        // The table of contents is drawn twice: in the sidebar and in the phone's drawer.
        for (const entry of tocLinks(section.heading.id)) {
          entry.parentElement.classList.toggle(HIDDEN, !visible);
        }
      }
      for (const chip of chips) {
        chip.setAttribute("aria-pressed", String(levels.includes(chip.dataset.qakbDifficulty)));
      }
      status.textContent = levels.length ? `Showing ${shown} of ${sections.length} questions` : "";
      if (remember) {
        save(levels);
      }
    }

    function chosen() {
      return available.filter((level) => chips.find((chip) => chip.dataset.qakbDifficulty === level)
        .getAttribute("aria-pressed") === "true");
    }

    function revealLinkedAnswer() {
      const id = decodeURIComponent(location.hash.slice(1));
      const target = id ? document.getElementById(id) : null;
      if (target && target.closest(`.${HIDDEN}`)) {
        apply([], true);
      }
    }

    for (const chip of chips) {
      chip.addEventListener("click", () => {
        const levels = chosen();
        const level = chip.dataset.qakbDifficulty;
        const next = levels.includes(level) ? levels.filter((other) => other !== level) : [...levels, level];
        apply(available.filter((other) => next.includes(other)), true);
      });
    }
    const fromUrl = new URL(location.href).searchParams.get(PARAM);
    const wanted = (fromUrl !== null ? fromUrl : stored()).split(",");
    apply(available.filter((level) => wanted.includes(level)), false);
    revealLinkedAnswer();
    filter.hidden = false;
    return revealLinkedAnswer;
  }

  // The table of contents' links to this page's heading `id`. With instant navigation
  // Material writes them as absolute URLs, so they are matched by their parsed address.
  function tocLinks(id) {
    return [...document.querySelectorAll(".md-nav--secondary a[href]")].filter((link) =>
      link.pathname === location.pathname && decodeURIComponent(link.hash.slice(1)) === id);
  }

  function setUpPage() {
    revealers = [...document.querySelectorAll(".qakb-filter[hidden]")].map(setUp);
  }

  window.addEventListener("hashchange", () => revealers.forEach((reveal) => reveal()));

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(setUpPage);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpPage);
  } else {
    setUpPage();
  }
})();
