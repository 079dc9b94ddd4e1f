/* helpapi help widget: search as you type, WAI-ARIA combobox, article view. No dependencies.
 * Embed: <div id="help"></div>
 *        <script src="https://HOST/widget.js" data-target="#help" data-locale="ja-JP"></script>
 * The widget never inserts unescaped text: titles and snippets are built as DOM nodes; only
 * the article body, which the API sanitizes, is set as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var api = script.getAttribute("data-api") || new URL(script.src, location.href).origin;
  var RTL = ["ar", "he", "fa", "ur", "yi", "ps", "sd", "ug", "dv", "ckb"];
  var LABELS = {
    en: ["Search help", "No articles found.", "Something went wrong. Try again.", "Showing English results.", "Back", "Also in:", "Searching…", "results"],
    ja: ["ヘルプを検索", "記事が見つかりません。", "エラーが発生しました。もう一度お試しください。", "英語の結果を表示しています。", "戻る", "他の言語:", "検索中…", "件"],
    zh: ["搜索帮助", "未找到文章。", "出现错误，请重试。", "显示英文结果。", "返回", "其他语言:", "正在搜索…", "个结果"],
    "zh-TW": ["搜尋說明", "找不到文章。", "發生錯誤，請再試一次。", "顯示英文結果。", "返回", "其他語言:", "正在搜尋…", "個結果"],
    de: ["Hilfe durchsuchen", "Keine Artikel gefunden.", "Etwas ist schiefgelaufen. Bitte erneut versuchen.", "Englische Ergebnisse werden angezeigt.", "Zurück", "Auch auf:", "Suche…", "Ergebnisse"],
    fr: ["Rechercher dans l'aide", "Aucun article trouvé.", "Une erreur s'est produite. Réessayez.", "Résultats en anglais.", "Retour", "Aussi en :", "Recherche…", "résultats"],
    fi: ["Hae ohjeista", "Artikkeleita ei löytynyt.", "Jokin meni vikaan. Yritä uudelleen.", "Näytetään englanninkieliset tulokset.", "Takaisin", "Myös kielillä:", "Haetaan…", "tulosta"],
    sv: ["Sök i hjälpen", "Inga artiklar hittades.", "Något gick fel. Försök igen.", "Visar engelska resultat.", "Tillbaka", "Även på:", "Söker…", "resultat"],
    uk: ["Пошук у довідці", "Статей не знайдено.", "Сталася помилка. Спробуйте ще раз.", "Показано результати англійською.", "Назад", "Також мовами:", "Пошук…", "результатів"],
    ar: ["البحث في التعليمات", "لم يتم العثور على مقالات.", "حدث خطأ. حاول مرة أخرى.", "عرض النتائج باللغة الإنجليزية.", "رجوع", "متوفر أيضًا بـ:", "جارٍ البحث…", "نتائج"],
    he: ["חיפוש בעזרה", "לא נמצאו מאמרים.", "משהו השתבש. נסה שוב.", "מוצגות תוצאות באנגלית.", "חזרה", "זמין גם ב:", "מחפש…", "תוצאות"]
  };
  var seq = 0;

  function labelsFor(locale) {
    var lang = locale.split("-")[0].toLowerCase();
    if (lang === "zh" && /-(TW|HK|MO|Hant)/i.test(locale)) return LABELS["zh-TW"];
    return LABELS[lang] || LABELS.en;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }

  /* The API's snippet is HTML-escaped text with <mark> around matches. Rebuild it as nodes:
   * entities are decoded by a <textarea> (its content is never parsed as markup). */
  var decoder = document.createElement("textarea");
  function decode(s) { decoder.innerHTML = s; return decoder.value; }
  function snippetNodes(snippet) {
    var frag = document.createDocumentFragment();
    var parts = String(snippet || "").split(/<mark>|<\/mark>/);
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i]) continue;
      var text = document.createTextNode(decode(parts[i]));
      if (i % 2 === 1) { var m = el("mark"); m.appendChild(text); frag.appendChild(m); }
      else frag.appendChild(text);
    }
    return frag;
  }

  function Widget(root, locale) {
    var L = labelsFor(locale), self = this, uid = "hw" + Math.random().toString(36).slice(2, 8);
    this.root = root; this.locale = locale; this.L = L; this.items = []; this.active = -1;
    this.controller = null; this.timer = null;
    root.classList.add("helpapi-widget");
    root.setAttribute("lang", locale);
    root.setAttribute("dir", RTL.indexOf(locale.split("-")[0].toLowerCase()) >= 0 ? "rtl" : "ltr");
    this.search = el("div", {"class": "hw-search"});
    this.input = el("input", {type: "search", role: "combobox", "aria-expanded": "false",
      "aria-controls": uid + "-list", "aria-autocomplete": "list", "aria-label": L[0],
      placeholder: L[0], autocomplete: "off", spellcheck: "false", "class": "hw-input"});
    this.status = el("div", {"class": "hw-status", role: "status", "aria-live": "polite"});
    this.list = el("ul", {id: uid + "-list", role: "listbox", "aria-label": L[0], "class": "hw-list"});
    this.list.hidden = true;
    this.article = el("section", {"class": "hw-article"});
    this.article.hidden = true;
    this.search.appendChild(this.input); this.search.appendChild(this.status);
    this.search.appendChild(this.list);
    root.appendChild(this.search); root.appendChild(this.article);
    this.uid = uid;
    this.input.addEventListener("input", function () { self.schedule(); });
    this.input.addEventListener("keydown", function (e) { self.key(e); });
  }

  Widget.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.query(self.input.value); }, 120);
  };

  Widget.prototype.query = function (text) {
    var self = this, id = ++seq;
    if (this.controller) this.controller.abort();  // an older answer never lands
    if (!text.trim()) { this.render(null); return; }
    this.controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    var url = api + "/v1/search?" + new URLSearchParams({q: text.slice(0, 256), locale: this.locale,
      prefix: "true", limit: "8"});
    this.status.textContent = this.L[6];
    fetch(url, {signal: this.controller && this.controller.signal, headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (body) { if (id === seq) self.render(body); })
      .catch(function (err) {
        if (id !== seq || (err && err.name === "AbortError")) return;
        self.render(null); self.status.textContent = self.L[2];
        self.status.className = "hw-status hw-error";
      });
  };

  Widget.prototype.render = function (body) {
    var self = this;
    this.list.textContent = ""; this.items = []; this.active = -1;
    this.status.className = "hw-status"; this.status.textContent = "";
    this.input.removeAttribute("aria-activedescendant");
    if (!body) { this.toggle(false); return; }
    if (body.fallback) {
      this.status.appendChild(el("span", {"class": "hw-fallback"}, this.L[3]));
    }
    if (!body.results.length) {
      this.status.appendChild(el("span", {"class": "hw-empty"}, " " + this.L[1]));
      this.toggle(false); return;
    }
    body.results.forEach(function (hit, i) {
      var li = el("li", {role: "option", id: self.uid + "-o" + i, "aria-selected": "false",
        "class": "hw-option", lang: hit.locale});
      li.appendChild(el("span", {"class": "hw-title"}, hit.title));
      var snip = el("span", {"class": "hw-snippet"});
      snip.appendChild(snippetNodes(hit.snippet));
      li.appendChild(snip);
      li.addEventListener("mousedown", function (e) { e.preventDefault(); self.open(hit); });
      self.list.appendChild(li); self.items.push(hit);
    });
    this.toggle(true);
  };

  Widget.prototype.toggle = function (open) {
    this.list.hidden = !open;
    this.input.setAttribute("aria-expanded", open ? "true" : "false");
  };

  Widget.prototype.move = function (delta) {
    if (!this.items.length) return;
    var opts = this.list.children;
    if (this.active >= 0) opts[this.active].setAttribute("aria-selected", "false");
    this.active = (this.active + delta + this.items.length) % this.items.length;
    opts[this.active].setAttribute("aria-selected", "true");
    this.input.setAttribute("aria-activedescendant", opts[this.active].id);
    opts[this.active].scrollIntoView({block: "nearest"});
  };

  Widget.prototype.key = function (e) {
    if (e.key === "ArrowDown") { e.preventDefault(); this.toggle(this.items.length > 0); this.move(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); this.move(-1); }
    else if (e.key === "Enter" && this.active >= 0) { e.preventDefault(); this.open(this.items[this.active]); }
    else if (e.key === "Escape") {
      if (!this.list.hidden) this.toggle(false); else { this.input.value = ""; this.render(null); }
    }
  };

  Widget.prototype.open = function (hit, locale) {
    var self = this;
    var url = api + "/v1/articles/" + encodeURIComponent(hit.id).replace(/%2F/g, "/") +
      "?locale=" + encodeURIComponent(locale || hit.locale);
    fetch(url, {headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (a) { self.showArticle(a, hit); })
      .catch(function () { self.status.textContent = self.L[2]; self.status.className = "hw-status hw-error"; });
  };

  Widget.prototype.showArticle = function (a, hit) {
    var self = this, box = this.article;
    box.textContent = "";
    var back = el("button", {type: "button", "class": "hw-back"}, this.L[4]);
    back.addEventListener("click", function () {
      box.hidden = true; self.search.hidden = false; self.input.focus();
    });
    box.appendChild(back);
    if (a.fallback) box.appendChild(el("p", {"class": "hw-fallback"}, this.L[3]));
    var body = el("div", {"class": "hw-body", lang: a.locale});
    body.innerHTML = a.html;  // sanitized by the API (no script, handlers or javascript: URLs)
    box.appendChild(body);
    var others = (a.locales || []).filter(function (l) { return l !== a.locale; });
    if (others.length) {
      var nav = el("nav", {"class": "hw-locales", "aria-label": this.L[5]}, this.L[5] + " ");
      others.forEach(function (l) {
        var b = el("button", {type: "button", lang: l}, l);
        b.addEventListener("click", function () { self.open(hit, l); });
        nav.appendChild(b);
      });
      box.appendChild(nav);
    }
    this.search.hidden = true; box.hidden = false; back.focus();
  };

  function start() {
    var target = document.querySelector(script.getAttribute("data-target") || "#help");
    if (!target) return;
    var locale = script.getAttribute("data-locale") || document.documentElement.lang ||
      (navigator.languages && navigator.languages[0]) || navigator.language || "en-US";
    if (!document.getElementById("helpapi-widget-css")) {
      var css = el("link", {id: "helpapi-widget-css", rel: "stylesheet", href: api + "/widget.css"});
      document.head.appendChild(css);
    }
    target.helpWidget = new Widget(target, locale);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
