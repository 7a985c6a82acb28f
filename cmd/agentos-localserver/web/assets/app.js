// The pages' behaviour: payloads fetched and drawn when opened, and the
// page kept up to date. No framework, nothing loaded from elsewhere.
(function () {
  "use strict";

  // ---- Payloads, drawn as collapsible JSON when their <details> opens.

  const SHOW_CHARS = 2000; // of a long string, before "show all"
  const OPEN_DEPTH = 2; // levels opened at first
  const CHILDREN_PAGE = 200; // members drawn at a time

  // Bidirectional and other invisible controls would reorder or hide
  // what is around them: shown as ⟨U+XXXX⟩, as the server does.
  const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  function clean(s) {
    return s.replace(HIDDEN, function (c) {
      return "⟨U+" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + "⟩";
    });
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function scalar(v) {
    if (typeof v === "string") {
      const span = el("span", "j-str");
      const full = clean(JSON.stringify(v));
      if (full.length <= SHOW_CHARS) {
        span.textContent = full;
        return span;
      }
      span.textContent = full.slice(0, SHOW_CHARS) + "…";
      const more = el("button", "more", "show all " + full.length + " characters");
      more.type = "button";
      more.addEventListener("click", function () {
        span.textContent = full;
        more.remove();
      });
      const wrap = el("span");
      wrap.append(span, " ", more);
      return wrap;
    }
    return el("span", v === null ? "j-null" : "j-" + typeof v, String(v));
  }

  // node draws v; objects and arrays draw their members only when opened,
  // so a value nested thousands of levels deep costs what is looked at.
  function node(key, v, depth) {
    const isList = Array.isArray(v);
    if (v === null || typeof v !== "object") {
      const line = el("div", "j-line");
      if (key !== null) line.append(el("span", "j-key", clean(key) + ": "));
      line.append(scalar(v));
      return line;
    }
    const keys = isList ? null : Object.keys(v);
    const n = isList ? v.length : keys.length;
    const d = el("details", "j-node");
    const s = el("summary");
    if (key !== null) s.append(el("span", "j-key", clean(key) + ": "));
    s.append(el("span", "j-type", isList ? "[" + n + "]" : "{" + n + "}"));
    d.append(s);
    let drawn = 0;
    function drawMore() {
      const box = d.querySelector(":scope > .j-kids") || d.appendChild(el("div", "j-kids"));
      const stop = Math.min(n, drawn + CHILDREN_PAGE);
      for (; drawn < stop; drawn++) {
        box.append(isList ? node(String(drawn), v[drawn], depth + 1) : node(keys[drawn], v[keys[drawn]], depth + 1));
      }
      const old = box.querySelector(":scope > .more");
      if (old) old.remove();
      if (drawn < n) {
        const more = el("button", "more", "show " + Math.min(CHILDREN_PAGE, n - drawn) + " more of " + (n - drawn));
        more.type = "button";
        more.addEventListener("click", drawMore);
        box.append(more);
      }
    }
    d.addEventListener("toggle", function () {
      if (d.open && drawn === 0) drawMore();
    });
    if (depth < OPEN_DEPTH && n > 0) d.open = true;
    return d;
  }

  async function load(details) {
    if (details.dataset.loaded) return;
    details.dataset.loaded = "1";
    const box = details.querySelector(".tree") || details.appendChild(el("div", "tree"));
    box.textContent = "loading…";
    try {
      const res = await fetch(details.dataset.src, { cache: "no-store" });
      const body = await res.text();
      if (!res.ok) throw new Error(res.status + " " + body);
      box.textContent = "";
      let value;
      try {
        value = JSON.parse(body);
      } catch (e) {
        // Too deep for this browser's parser, say: shown as text.
        box.append(scalar(body));
        return;
      }
      box.append(node(null, value, 0));
    } catch (e) {
      box.textContent = "could not load: " + e.message;
      delete details.dataset.loaded;
    }
  }

  // JSON the server inlined (small and shallow) becomes collapsible too;
  // without this script it stays readable, indented.
  function upgrade(root) {
    root.querySelectorAll("pre.json").forEach(function (pre) {
      let value;
      try {
        value = JSON.parse(pre.textContent);
      } catch (e) {
        return;
      }
      const box = el("div", "tree inline");
      box.append(node(null, value, 0));
      pre.replaceWith(box);
    });
  }
  upgrade(document);

  // toggle does not bubble: listen in the capture phase.
  document.addEventListener("toggle", function (ev) {
    const d = ev.target;
    if (d.matches && d.matches("details.lazy") && d.open) load(d);
  }, true);

  // A link to an event (#e12, from the trace, say) opens its payload; a
  // link to a span (#s<span id>) opens its row.
  function openTarget() {
    const m = /^#e(\d+)$/.exec(location.hash);
    const ev = m && document.getElementById("e" + m[1]);
    const raw = ev && ev.querySelector("details.raw");
    if (raw) raw.open = true;
    const s = /^#s([0-9a-fA-F]+)$/.exec(location.hash);
    const row = s && document.querySelector('details.span[data-span-id="' + s[1] + '"]');
    if (row) row.open = true;
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // ---- Keeping the page current: ask a cheap endpoint whether anything
  // changed, and only then load the page again, in place. Not while the
  // tab is hidden.

  const every = Number(document.body.dataset.poll || 0);
  let watch = document.body.dataset.watch;
  if (!every || !watch) return;
  // The version the page was built at; a change since makes it reload.
  let version = document.body.dataset.version || null;
  let timer = null;
  let busy = false; // a check is under way: never two at once

  async function check() {
    timer = null;
    if (busy) return;
    busy = true;
    try {
      const res = await fetch(watch, { cache: "no-store" });
      if (res.ok) {
        const v = (await res.json()).version;
        // A reload that failed is tried again at the next tick.
        if (version === null || v === version || (await reload())) version = v;
      }
    } catch (e) {
      // The server is restarting, say: ask again at the next tick.
    }
    busy = false;
    schedule();
  }

  function schedule() {
    if (!document.hidden && watch && timer === null) timer = setTimeout(check, every);
  }

  // reload replaces the page's #results with the server's, and reports
  // whether it did.
  async function reload() {
    const res = await fetch(location.href, { cache: "no-store" });
    if (!res.ok) return false;
    const next = new DOMParser().parseFromString(await res.text(), "text/html");
    const fresh = next.getElementById("results");
    const here = document.getElementById("results");
    if (!fresh || !here) return false;
    // What the reader opened stays open.
    const open = new Set();
    here.querySelectorAll("details[open][data-span-id]").forEach(function (d) { open.add(d.dataset.spanId); });
    upgrade(fresh);
    here.replaceWith(fresh);
    fresh.querySelectorAll("details[data-span-id]").forEach(function (d) {
      if (open.has(d.dataset.spanId)) d.open = true;
    });
    document.title = next.title;
    if (!next.body.dataset.poll) {
      // A run that closed changes no more.
      watch = null;
      const live = document.querySelector(".bar .live");
      if (live) live.remove();
    }
    return true;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    } else if (timer === null) {
      check(); // at once: the page may be long out of date
    }
  });
  schedule();
})();
