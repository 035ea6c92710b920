// Links to answers: the "Copy link" button beside each question, and links that name an
// anchor the page does not hold.
//
// Copy link puts the answer's absolute URL on the clipboard and confirms it on the button
// and in a live region, which screen readers announce. An unknown anchor (a question
// reworded since the link was made, or moved to another topic) is looked up in the
// site's links.json, which `qakb build` writes from content/anchors.json, and replaced by
// the question's current page and anchor; widget.js then highlights the answer.
(() => {
  "use strict";

  const CONFIRM_MS = 2000;
  const BUTTON = ".qakb-copy-link";
  let announcer = null;
  let links = null;

  function announce(message) {
    // The region exists from the start (one created with its text is not announced), and
    // is emptied first so that the same message twice is announced twice.
    announcer.textContent = "";
    window.setTimeout(() => {
      announcer.textContent = message;
    }, 50);
  }

  function answerUrl(anchor) {
    const url = new URL(location.href);
    url.search = "";
    url.hash = anchor;
    return url.href;
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (error) {
        // Denied or unavailable: try the older way below.
      }
    }
    const field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "qakb-visually-hidden";
    document.body.append(field);
    field.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    field.remove();
    return copied;
  }

  async function copyLink(button) {
    const url = answerUrl(button.dataset.qakbAnchor);
    const copied = await copyText(url);
    button.focus();
    if (!copied) {
      // The address bar then holds the link, to copy by hand.
      history.replaceState(history.state, "", url);
      announce("Could not copy the link; it is in the address bar.");
      return;
    }
    button.textContent = "Link copied";
    button.classList.add("qakb-copy-link--done");
    announce("Link to this answer copied to the clipboard.");
    window.clearTimeout(button.qakbTimer);
    button.qakbTimer = window.setTimeout(() => {
      button.textContent = "Copy link";
      button.classList.remove("qakb-copy-link--done");
    }, CONFIRM_MS);
  }

  function siteRoot() {
    const config = document.getElementById("__config");
    let base = ".";
    try {
      base = JSON.parse(config.textContent).base || ".";
    } catch (error) {
      // No Material config: assume the page sits at the site's root.
    }
    return new URL(base.endsWith("/") ? base : base + "/", location.href);
  }

  function currentAnchor() {
    try {
      return decodeURIComponent(location.hash.slice(1));
    } catch (error) {
      return "";
    }
  }

  function loadLinks() {
    if (!links) {
      links = fetch(new URL("links.json", siteRoot()))
        .then((response) => (response.ok ? response.json() : {}))
        .catch(() => ({}));
    }
    return links;
  }

  async function resolveAnchor() {
    const anchor = currentAnchor();
    if (!anchor || document.getElementById(anchor)) {
      return;
    }
    const map = await loadLinks();
    if (currentAnchor() !== anchor || !Object.prototype.hasOwnProperty.call(map, anchor)) {
      return;
    }
    // On this page too: a fragment navigation updates :target, which Material's scroll margin
    // below the sticky header needs, and fires hashchange, on which widget.js highlights.
    location.replace(new URL(map[anchor], siteRoot()).href);
  }

  function setUpPage() {
    for (const button of document.querySelectorAll(`${BUTTON}[hidden]`)) {
      button.hidden = false;
    }
    resolveAnchor();
  }

  function init() {
    announcer = document.createElement("div");
    announcer.className = "qakb-visually-hidden qakb-announcer";
    announcer.setAttribute("role", "status");
    announcer.setAttribute("aria-live", "polite");
    document.body.append(announcer);
    document.addEventListener("click", (event) => {
      const button = event.target.closest(BUTTON);
      if (button) {
        copyLink(button);
      }
    });
    window.addEventListener("hashchange", resolveAnchor);
    // Material's instant navigation swaps pages without a load event; document$ announces each.
    if (window.document$ && typeof window.document$.subscribe === "function") {
      window.document$.subscribe(setUpPage);
    } else {
      setUpPage();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
