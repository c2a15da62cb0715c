// The studio works without this script; it only adds conveniences:
// - the rule form is checked while it is written (problems, and conflicts with other rules),
// - products are picked by searching their names (the code field is filled in),
// - slot pickers and "remove slots" show the slots of the pages the rule is for first,
// - a boost or bury row shows the control for the attribute it is about,
// - destructive buttons ask for confirmation.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  var form = document.querySelector("form.rule-form");
  var region = document.getElementById("live-check");
  if (!form || !region || form.querySelector("fieldset[disabled]")) return;
  var url = region.getAttribute("data-check-url");
  var timer = null;
  var sequence = 0;

  function check() {
    var mine = ++sequence;
    var body = new FormData(form);
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && mine === sequence) region.innerHTML = html;
      })
      .catch(function () { /* the Check button still works */ });
  }

  function later(event) {
    if (event && event.target && event.target.hasAttribute("data-no-check")) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 500);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);

  // ---- boost / bury: the category select, the price band select, or the text field ----------
  function showLiftValue(select) {
    var cell = select.closest("tr").querySelector(".lift-value");
    if (!cell) return;
    cell.querySelectorAll("[data-for]").forEach(function (control) {
      var wanted = control.getAttribute("data-for").split(" ").indexOf(select.value) >= 0;
      control.hidden = !wanted;
    });
  }
  form.querySelectorAll("select[data-lift-attribute]").forEach(function (select) {
    showLiftValue(select);
    select.addEventListener("change", function () { showLiftValue(select); });
  });

  // ---- the pin's slot: the slots this rule adds join the select as they are typed ----------
  function addedSlots() {
    var out = [];
    form.querySelectorAll("input[name^='add-'][name$='-id']").forEach(function (input) {
      var id = input.value.trim();
      var title = form.querySelector("input[name='" + input.name.replace(/-id$/, "-title") + "']");
      if (id && !out.some(function (s) { return s.id === id; })) {
        out.push({ id: id, title: (title && title.value.trim()) || id });
      }
    });
    return out;
  }
  function refreshSlotPickers() {
    var slots = addedSlots();
    form.querySelectorAll("select[data-slot-picker]").forEach(function (select) {
      var group = select.querySelector("optgroup[data-this-rule]");
      if (!group) return;
      var value = select.value;
      group.textContent = "";
      slots.forEach(function (s) {
        var option = document.createElement("option");
        option.value = s.id;
        option.textContent = s.title;
        group.appendChild(option);
      });
      if (value && group.querySelector("option[value='" + CSS.escape(value) + "']")) {
        if (!select.value) select.value = value;
      }
    });
  }
  form.querySelectorAll("input[name^='add-']").forEach(function (input) {
    if (/-(id|title)$/.test(input.name)) input.addEventListener("input", refreshSlotPickers);
  });
  refreshSlotPickers();

  // ---- slot pickers (pins, moves, changes, layout rows): the slots of the rule's pages ------
  // first, the other pages' hidden and out of the arrow keys' way (every page's when no page
  // box is ticked; a group holding the chosen slot stays)
  function showRulePages() {
    var pages = [];
    form.querySelectorAll("input[name='page']:checked").forEach(function (box) {
      pages.push(box.value);
    });
    arrangeSlotChecks(pages);
    form.querySelectorAll("select[data-slot-picker]").forEach(function (select) {
      var chosen = select.options[select.selectedIndex];
      var groups = Array.prototype.slice.call(select.querySelectorAll("optgroup[data-page]"));
      if (!groups.length) return;
      var anchor = groups[0];
      groups.forEach(function (group) {
        if (pages.indexOf(group.getAttribute("data-page")) >= 0 && group !== anchor) {
          select.insertBefore(group, anchor);
        }
      });
      groups.forEach(function (group) {
        var other = pages.length > 0 && pages.indexOf(group.getAttribute("data-page")) < 0;
        var off = other && !(chosen && chosen.parentNode === group);
        group.hidden = off;
        group.disabled = off;
      });
      if (chosen) chosen.selected = true;
    });
  }
  form.querySelectorAll("input[name='page']").forEach(function (box) {
    box.addEventListener("change", showRulePages);
  });

  // ---- "remove slots": the ticked pages' groups first, each slot in the first group of a page
  // that has it (in that page's order); groups left empty are hidden, no box is ever hidden
  function arrangeSlotChecks(pages) {
    form.querySelectorAll("fieldset.slot-checks").forEach(function (checks) {
      var groups = Array.prototype.slice.call(checks.querySelectorAll("fieldset[data-page]"));
      if (!groups.length) return;
      var theirs = groups.filter(function (g) {
        return pages.indexOf(g.getAttribute("data-page")) >= 0;
      });
      var order = theirs.concat(groups.filter(function (g) { return theirs.indexOf(g) < 0; }));
      var after = groups[groups.length - 1].nextSibling;
      order.forEach(function (g) { checks.insertBefore(g, after); });
      var placed = {};
      order.forEach(function (g) {
        var list = g.querySelector("ul");
        (g.getAttribute("data-slots") || "").split(" ").forEach(function (id) {
          var box = id && !placed[id] && g.parentNode.querySelector(
            "fieldset[data-page] input[value='" + CSS.escape(id) + "']");
          if (!box) return;
          placed[id] = true;
          list.appendChild(box.closest("li"));
        });
      });
      groups.forEach(function (g) { g.hidden = !g.querySelector("li"); });
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-slot-picker]")) showRulePages();
  });
  showRulePages();

  // ---- product pickers: type words of a name, choose a product, its code goes in -----------
  var searchUrl = form.getAttribute("data-product-search");
  form.querySelectorAll("[data-picker]").forEach(function (picker) {
    var target = document.getElementById(picker.getAttribute("data-target"));
    var box = picker.querySelector("input[role=combobox]");
    var list = picker.querySelector("[role=listbox]");
    var picked = picker.querySelector("output");
    var multi = picker.getAttribute("data-multi") === "yes";
    var wait = null;
    var asked = 0;
    var active = -1;
    if (!target || !box || !list || !searchUrl) return;
    picker.hidden = false;

    function close() {
      list.hidden = true;
      list.textContent = "";
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(option) {
      var code = option.getAttribute("data-id");
      if (multi && target.value.trim()) {
        var codes = target.value.split(/[\s,]+/).filter(Boolean);
        if (codes.indexOf(code) < 0) codes.push(code);
        target.value = codes.join(", ");
      } else {
        target.value = code;
      }
      picked.textContent = option.getAttribute("data-title") + " (" + code + ")";
      var known = form.querySelector('[data-known-for="' + target.id + '"]');
      if (known && !multi) known.hidden = true; // it described the code just replaced
      box.value = "";
      close();
      target.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function highlight(i) {
      var options = list.querySelectorAll("[role=option]");
      if (!options.length) return;
      active = (i + options.length) % options.length;
      options.forEach(function (o, j) { o.setAttribute("aria-selected", j === active ? "true" : "false"); });
      box.setAttribute("aria-activedescendant", options[active].id);
    }

    function show(products) {
      close();
      products.forEach(function (p, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = box.id + "-option-" + i;
        li.setAttribute("data-id", p.id);
        li.setAttribute("data-title", p.title);
        li.setAttribute("aria-selected", "false");
        var title = document.createElement("span");
        title.textContent = p.title;
        var meta = document.createElement("small");
        meta.textContent = p.id + " · " + p.category_label + " · " + p.price;
        li.appendChild(title);
        li.appendChild(meta);
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });
        li.addEventListener("click", function () { choose(li); });
        list.appendChild(li);
      });
      if (!products.length) {
        var none = document.createElement("li");
        none.className = "none";
        none.textContent = "No product matches " + box.value.trim();
        list.appendChild(none);
      }
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
    }

    function search() {
      var q = box.value.trim();
      var mine = ++asked;
      if (!q) { close(); return; }
      fetch(searchUrl + "?limit=10&q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) { if (body && mine === asked) show(body.products); })
        .catch(function () { /* the code can still be typed */ });
    }

    box.addEventListener("input", function () {
      window.clearTimeout(wait);
      wait = window.setTimeout(search, 200);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { highlight(active + 1); event.preventDefault(); }
      else if (event.key === "ArrowUp") { highlight(active - 1); event.preventDefault(); }
      else if (event.key === "Escape") { close(); }
      else if (event.key === "Enter") {
        event.preventDefault(); // never submits the rule form
        var options = list.querySelectorAll("[role=option]");
        if (options.length) choose(options[active >= 0 ? active : 0]);
      }
    });
    box.addEventListener("blur", function () { window.setTimeout(close, 150); });
  });
})();
