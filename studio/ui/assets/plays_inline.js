// Gradio's video player does not set playsinline, so iPhones would open every result full screen.
new MutationObserver(() => document.querySelectorAll("video:not([playsinline])").forEach((v) => {
  v.setAttribute("playsinline", ""); v.playsInline = true;
})).observe(document.documentElement, {childList: true, subtree: true});
