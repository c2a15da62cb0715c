// Progressive enhancement: pages work without it. It reports product views and clicks to
// POST /events with navigator.sendBeacon, so the shopper's next page can react to them.
(function () {
  "use strict";
  var queue = [];
  var timer = null;

  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function flush() {
    timer = null;
    if (!queue.length) return;
    // a new state mark before the events leave: the next page, whichever worker builds it,
    // reads this shopper's session again (storefront/page_memo.py), even if it overtakes them
    document.cookie = "sf_state=" + encodeURIComponent(uid()) + "; path=/; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
    var body = JSON.stringify({ events: queue.splice(0, 100) });
    var blob = new Blob([body], { type: "application/json" });
    if (!(navigator.sendBeacon && navigator.sendBeacon("/events", blob))) {
      fetch("/events", { method: "POST", body: body, keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json" } }).catch(function () {});
    }
  }

  function track(type, productId, slot, extra) {
    var ev = { id: uid(), type: type, ts: Date.now() };
    var page = document.body.getAttribute("data-page");
    if (page) ev.page = page;
    if (productId) ev.product_id = productId;
    if (slot) ev.slot = slot;
    if (extra) for (var k in extra) ev[k] = extra[k];
    queue.push(ev);
    if (!timer && type !== "impression") timer = setTimeout(flush, 50);
  }
  window.storefrontTrack = track;

  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest(".tile a");
    if (!link) return;
    var tile = link.closest("[data-product-id]");
    var slot = link.closest("[data-slot]");
    track("click", tile && tile.getAttribute("data-product-id"),
          slot && slot.getAttribute("data-slot"));
    flush();  // the browser is about to navigate: send now
  });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.classList || !form.classList.contains("add-to-cart")) return;
    var pid = form.querySelector("[name=product_id]");
    var qty = form.querySelector("[name=quantity]");
    track("add_to_cart", pid && pid.value, "product",
          { quantity: Math.max(1, Math.min(999, parseInt(qty && qty.value, 10) || 1)) });
    flush();
  });

  // Impressions only for tiles actually seen: at least half visible for at least a second.
  var SEEN_RATIO = 0.5, SEEN_MS = 1000;
  var timers = new WeakMap(), counted = new WeakSet();
  function tileSeen(tile) {
    if (counted.has(tile)) return;
    counted.add(tile);
    var slot = tile.closest("[data-slot]");
    track("impression", tile.getAttribute("data-product-id"),
          slot && slot.getAttribute("data-slot"));
  }
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        var tile = entry.target;
        if (entry.isIntersecting && entry.intersectionRatio >= SEEN_RATIO) {
          if (!timers.has(tile) && !counted.has(tile)) {
            timers.set(tile, setTimeout(function () { timers.delete(tile); tileSeen(tile); },
                                        SEEN_MS));
          }
        } else if (timers.has(tile)) {
          clearTimeout(timers.get(tile));
          timers.delete(tile);
        }
      });
    }, { threshold: [0, SEEN_RATIO, 1] });
    document.querySelectorAll("[data-slot] .tile[data-product-id]").forEach(function (tile) {
      observer.observe(tile);
    });
  }
  setInterval(flush, 2000);  // impressions go out in batches, not one request each

  if (document.body.getAttribute("data-page") === "search") {
    var q = document.getElementById("q");
    if (q && q.value) track("search", null, "search", { query: q.value.slice(0, 200) });
  }

  var product = document.querySelector("article.product[data-product-id]");
  if (product) {
    track("view", product.getAttribute("data-product-id"), "product");
    flush();
  }
  window.addEventListener("pagehide", flush);
})();
