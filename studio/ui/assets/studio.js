// The generation tabs' behaviour in the browser: the card that answers Generate at once, the elapsed time that
// keeps ticking between two updates, each refused field's message shown at the field, and Ctrl/Cmd+Enter.
(() => {
  const STARTING = {en: "Starting…", zh: "正在开始…"};
  const lang = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";

  // Generate was pressed on tab `prefix`: show a working card now (the server's first status replaces it) and,
  // where the result sits under the form (narrow screens), bring it into view.
  window.rsStarting = (prefix) => {
    const tab = document.getElementById(`${prefix}_result`)?.closest(".tabitem");
    clearTab(tab);
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

  // Each refused field's message, at the field, until the field changes. The messages are kept here and put back
  // whenever the page re-renders (Gradio may rebuild a field's markup under us), not written once and forgotten.
  const refused = new Map(); // field id -> message
  const noteOf = (field) => {
    const next = field.nextElementSibling;
    return next && next.classList.contains("rs-field-error") ? next : null;
  };
  const clearField = (field) => {
    refused.delete(field.id);
    field.classList.remove("rs-has-error");
    noteOf(field)?.remove();
  };
  // A new card for ``tab`` clears that tab's messages, and those of fields outside every tab (the API key box).
  const clearTab = (tab) => {
    for (const id of [...refused.keys()]) {
      const field = document.getElementById(id);
      if (!field) refused.delete(id);
      else if (!tab || tab.contains(field) || !field.closest(".tabitem")) clearField(field);
    }
  };
  const applyFieldErrors = () => {
    for (const [id, message] of refused) {
      const field = document.getElementById(id);
      if (!field) continue;
      field.classList.add("rs-has-error");
      let note = noteOf(field);
      if (!note) {
        note = document.createElement("div");
        note.className = "rs-field-error";
        note.setAttribute("role", "alert");
        field.insertAdjacentElement("afterend", note);
      }
      if (note.textContent !== message) note.textContent = message;
    }
  };
  const showFieldErrors = (card) => {
    let errors;
    try {
      errors = JSON.parse(card.dataset.fieldErrors || "{}");
    } catch (e) {
      return;
    }
    clearTab(card.closest(".tabitem"));
    for (const [id, message] of Object.entries(errors)) refused.set(id, message);
    applyFieldErrors();
  };
  const changed = (event) => {
    // a dropdown's choice is a click on one of its options (Gradio's dropdown sends no input or change event)
    if (event.type === "click" && !(event.target instanceof Element && event.target.closest("[role=option]"))) return;
    const field = event.target instanceof Element && event.target.closest("[id]");
    for (let node = field; node; node = node.parentElement?.closest("[id]")) {
      if (refused.has(node.id)) return clearField(node);
    }
  };
  for (const type of ["input", "change", "drop", "click"]) document.addEventListener(type, changed, true);
  let queued = false;
  new MutationObserver((changes) => {
    for (const change of changes) {
      // Gradio may patch the card in place (a changed attribute) rather than add a new one
      if (change.type === "attributes" && change.target.matches(".rs-status[data-field-errors]")) {
        showFieldErrors(change.target);
      }
      for (const node of change.addedNodes) {
        if (!(node instanceof Element)) continue;
        const cards = node.matches(".rs-status[data-field-errors]")
          ? [node]
          : node.querySelectorAll(".rs-status[data-field-errors]");
        cards.forEach(showFieldErrors);
      }
    }
    if (refused.size && !queued) {
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        applyFieldErrors();
      });
    }
  }).observe(document.documentElement, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["data-field-errors"],
  });

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
