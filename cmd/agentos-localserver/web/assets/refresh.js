// Reloads the page's content in place every <body data-refresh>
// milliseconds, for as long as the reloaded page asks for it (while
// it shows an open run). Keeps the scroll position, unlike a full reload.
(function () {
  "use strict";
  const every = Number(document.body.dataset.refresh || 0);
  if (!every) {
    return;
  }
  async function tick() {
    try {
      const res = await fetch(location.href, { cache: "no-store" });
      if (res.ok) {
        const next = new DOMParser().parseFromString(await res.text(), "text/html");
        document.querySelector("main").replaceWith(next.querySelector("main"));
        document.querySelector("header.bar").replaceWith(next.querySelector("header.bar"));
        document.title = next.title;
        if (!next.body.dataset.refresh) {
          delete document.body.dataset.refresh;
          return;
        }
      }
    } catch (e) {
      // The server is restarting, say: try again at the next tick.
    }
    setTimeout(tick, every);
  }
  setTimeout(tick, every);
})();
