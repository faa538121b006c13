// History: the grid's clicks become its Gradio events, and compared clips play in step.

// The grid (gr.HTML): a click on a tile picks it, on its star stars it, and its "Compare" box marks it. `send`
// maps each event name to a function that triggers it with {id, on}. Listeners sit on the component's element,
// so they survive every re-render of the tiles.
window.rsHistoryGrid = (element, send) => {
  const tileOf = (node) => node.closest("[data-gid]");
  element.addEventListener("click", (event) => {
    if (event.target.closest(".rs-mark")) return; // the box reports itself (change)
    const tile = tileOf(event.target);
    if (!tile) return;
    const star = event.target.closest(".rs-star");
    if (star) {
      const on = star.getAttribute("aria-pressed") !== "true";
      star.setAttribute("aria-pressed", String(on));
      star.textContent = on ? "★" : "☆";
      send.star({id: tile.dataset.gid, on});
      return;
    }
    element.querySelectorAll(".rs-selected").forEach((other) => {
      other.classList.remove("rs-selected");
      other.querySelector(".rs-open")?.removeAttribute("aria-current");
    });
    tile.classList.add("rs-selected"); // at once: the server's answer follows
    tile.querySelector(".rs-open")?.setAttribute("aria-current", "true");
    send.pick({id: tile.dataset.gid});
  });
  element.addEventListener("change", (event) => {
    const box = event.target.closest("input[data-act=mark]");
    const tile = box && tileOf(box);
    if (!tile) return;
    tile.classList.toggle("rs-marked", box.checked);
    // Every box of the page, not only this one: two quick ticks must not each start from the other's old state.
    const boxes = [...element.querySelectorAll("input[data-act=mark]")];
    const ids = (list) => list.map((b) => tileOf(b)?.dataset.gid).filter(Boolean);
    send.mark({id: tile.dataset.gid, on: box.checked, shown: ids(boxes), checked: ids(boxes.filter((b) => b.checked))});
  });
};

// The compare view (gr.HTML): one Play/Pause and one position for every clip. They start together (each seeked
// to the same time and buffered before any plays) and the others follow the longest clip while they play.
window.rsHistoryCompare = (element) => {
  const DRIFT_S = 0.2;
  const videos = () => [...element.querySelectorAll("video")];
  const lead = (all) => all.reduce((a, b) => ((b.duration || 0) > (a.duration || 0) ? b : a), all[0]);
  const playing = () => videos().some((v) => !v.paused && !v.ended);
  const ready = (v) =>
    v.readyState >= 3
      ? Promise.resolve()
      : new Promise((done) => {
          const late = setTimeout(done, 4000);
          v.addEventListener("canplay", () => { clearTimeout(late); done(); }, {once: true});
        });
  const show = () => {
    const all = videos();
    if (!all.length) return;
    const first = lead(all);
    const button = element.querySelector(".rs-cmp-play");
    if (button) button.textContent = playing() ? button.dataset.pause : button.dataset.play;
    const seek = element.querySelector(".rs-cmp-seek");
    if (seek && first.duration) seek.value = String(Math.round((1000 * first.currentTime) / first.duration));
    const time = element.querySelector(".rs-cmp-time");
    if (time) time.textContent = `${first.currentTime.toFixed(1)} s`;
  };
  const seekAll = (at) => videos().forEach((v) => { v.currentTime = Math.min(at, v.duration || at); });
  const playAll = async () => {
    const all = videos();
    if (!all.length) return;
    const first = lead(all);
    const at = first.ended || first.currentTime >= (first.duration || Infinity) - 0.05 ? 0 : first.currentTime;
    all.forEach((v) => v.pause());
    seekAll(at);
    await Promise.all(all.map(ready));
    await Promise.all(all.map((v) => (at < (v.duration || Infinity) ? v.play().catch(() => {}) : null)));
    show();
  };
  const pauseAll = () => { videos().forEach((v) => v.pause()); show(); };
  element.addEventListener("click", (event) => {
    if (event.target.closest(".rs-cmp-play") || event.target.closest("video")) playing() ? pauseAll() : playAll();
  });
  element.addEventListener("input", (event) => {
    if (!event.target.matches(".rs-cmp-seek")) return;
    const first = lead(videos());
    if (first?.duration) seekAll((first.duration * Number(event.target.value)) / 1000);
  });
  element.addEventListener("timeupdate", (event) => {
    const all = videos();
    const first = lead(all);
    if (event.target !== first) return;
    if (!first.paused) {
      all.forEach((v) => {
        const off = Math.abs(v.currentTime - first.currentTime);
        if (v !== first && !v.paused && off > DRIFT_S && first.currentTime < (v.duration || 0)) {
          v.currentTime = first.currentTime;
        }
      });
    }
    show();
  }, true); // media events do not bubble: listen while they go down
  for (const name of ["play", "pause", "ended"]) element.addEventListener(name, show, true);
};

// Bring a part of History into view when it is off screen (the details under the grid on a phone), or always.
// ``probe`` is what must be seen (the details under the clip): once it is drawn and the clip knows its size (up
// to 2 s), the part is scrolled to the top if the probe is not in view.
window.rsHistoryReveal = async (selector, always = false, probe = null) => {
  const part = document.querySelector(selector);
  if (!part) return;
  const settled = () => {
    const shown = !probe || document.querySelector(probe)?.getBoundingClientRect().height > 0;
    const clip = part.querySelector("video");
    return shown && (!clip || clip.readyState >= 1);
  };
  for (let waited = 0; !settled() && waited < 2000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  const box = part.getBoundingClientRect();
  const seen = probe && document.querySelector(probe)?.getBoundingClientRect();
  const hidden = seen && seen.height > 0 && (seen.top < 0 || seen.top > window.innerHeight - 80);
  if (always || hidden || box.top < 0 || box.top > window.innerHeight * 0.6) part.scrollIntoView({block: "start"});
};
