// The generation tabs' behaviour in the browser: the card that answers Generate at once, the elapsed time that
// keeps ticking between two updates, each refused field's message shown at the field, and Ctrl/Cmd+Enter.
(() => {
  const STARTING = {en: "Starting…", zh: "正在开始…"};
  const lang = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";

  // Generate was pressed on tab `prefix`: show a working card now (the server's first status replaces it) and,
  // where the result sits under the form (narrow screens), bring it into view.
  window.rsStarting = (prefix) => {
    const tab = document.getElementById(`${prefix}_result`)?.closest(".tabitem");
    tab?.querySelectorAll(".rs-has-error").forEach(clearField);
    const holder = document.getElementById(`${prefix}_status`);
    const card = holder && holder.querySelector(".rs-status");
    if (card) {
      card.className = "rs-status rs-preparing";
      card.dataset.phase = "preparing";
      card.dataset.progress = "";
      card.dataset.elapsed = "0";
      card.innerHTML =
        '<div class="rs-head"><span class="rs-ring rs-ring-spin" aria-hidden="true"></span><div class="rs-text">' +
        `<div class="rs-line"><b>${STARTING[lang]}</b></div></div></div>` +
        '<div class="rs-bar rs-bar-busy"><span></span></div>';
    }
    const result = document.getElementById(`${prefix}_result`);
    if (result) {
      const box = result.getBoundingClientRect();
      if (box.top < 0 || box.top > window.innerHeight * 0.6) result.scrollIntoView({block: "start"});
    }
  };

  // The elapsed time of a running card, from its data-elapsed and the moment the card arrived.
  const arrived = new WeakMap();
  setInterval(() => {
    document.querySelectorAll(".rs-status[data-elapsed]").forEach((card) => {
      const phase = card.dataset.phase;
      if (["succeeded", "failed", "cancelled", "lost", "interrupted", "invalid", "idle"].includes(phase)) return;
      const base = parseFloat(card.dataset.elapsed || "0");
      let seen = arrived.get(card);
      if (!seen || seen.base !== base) arrived.set(card, (seen = {base, at: performance.now()}));
      const shown = card.querySelector(".rs-elapsed");
      if (shown) shown.textContent = `${(base + (performance.now() - seen.at) / 1000).toFixed(1)} s`;
    });
  }, 500);

  // Each refused field's message, at the field; it goes as soon as the field changes.
  const clearField = (field) => {
    field.classList.remove("rs-has-error");
    const note = field.nextElementSibling;
    if (note && note.classList.contains("rs-field-error")) note.remove();
  };
  const showFieldErrors = (card) => {
    let errors;
    try {
      errors = JSON.parse(card.dataset.fieldErrors || "{}");
    } catch (e) {
      return;
    }
    const tab = card.closest(".tabitem") || document;
    tab.querySelectorAll(".rs-has-error").forEach(clearField);
    for (const [id, message] of Object.entries(errors)) {
      const field = document.getElementById(id);
      if (!field) continue;
      field.classList.add("rs-has-error");
      const note = document.createElement("div");
      note.className = "rs-field-error";
      note.setAttribute("role", "alert");
      note.textContent = message;
      field.insertAdjacentElement("afterend", note);
      const clear = () => clearField(field);
      field.addEventListener("input", clear, {once: true, capture: true});
      field.addEventListener("change", clear, {once: true, capture: true});
      field.addEventListener("drop", clear, {once: true, capture: true});
    }
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (!(node instanceof Element)) continue;
        const cards = node.matches(".rs-status[data-field-errors]")
          ? [node]
          : node.querySelectorAll(".rs-status[data-field-errors]");
        cards.forEach(showFieldErrors);
      }
    }
  }).observe(document.documentElement, {childList: true, subtree: true});

  // Ctrl+Enter (Cmd+Enter on a Mac) presses Generate on the tab in view.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const button = [...document.querySelectorAll("button[id$='_generate']")].find((b) => b.offsetParent !== null);
    if (button && !button.disabled) {
      event.preventDefault();
      button.click();
    }
  });
})();
