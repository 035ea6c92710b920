// Typesets the page's math with the site's own KaTeX (assets/katex/).
//
// pymdownx.arithmatex in generic mode leaves the TeX as text: inline math in
// <span class="arithmatex">\(...\)</span>, display math in
// <div class="arithmatex">\[...\]</div> (or a bare \begin{...}...\end{...}).
// KaTeX runs with trust off, so a bank's TeX cannot add links, classes or styles.
(() => {
  "use strict";

  const DELIMITERS = [["\\(", "\\)", false], ["\\[", "\\]", true]];

  function texOf(element) {
    const text = element.textContent.trim();
    for (const [open, close, displayMode] of DELIMITERS) {
      if (text.startsWith(open) && text.endsWith(close)) {
        return { tex: text.slice(open.length, text.length - close.length), displayMode };
      }
    }
    return { tex: text, displayMode: element.tagName === "DIV" };
  }

  function typeset(root) {
    if (!window.katex) {
      return;
    }
    for (const element of root.querySelectorAll(".arithmatex:not([data-qakb-math])")) {
      const { tex, displayMode } = texOf(element);
      element.setAttribute("data-qakb-math", "");
      window.katex.render(tex, element, { displayMode, throwOnError: false, trust: false });
    }
  }

  // The practice page typesets each answer as it reveals it.
  window.qakbMath = { typeset };

  // Material's instant navigation swaps the page content without a load event; its
  // document$ observable announces every new page, the first one included.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(() => typeset(document));
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => typeset(document));
  } else {
    typeset(document);
  }
})();
