/* helpapi help widget v2: search as you type (WAI-ARIA combobox), article view, feedback.
 * Vanilla JavaScript, no dependencies, nothing loaded from third parties.
 * Inline:   <div id="help"></div><script src="https://HOST/widget.js" data-target="#help"></script>
 * Launcher: <script src="https://HOST/widget.js" data-mode="launcher"></script>
 *           (a floating button and a modal dialog; Ctrl/Cmd-K or "/" opens it)
 * Options (data-*): locale, api, target, mode (inline|launcher), launcher="on" (both),
 *           recent="off", contact-url, contact-label.
 * The widget never inserts unescaped text: titles and snippets are built as DOM nodes; only
 * the article body, which the API sanitizes, is set as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  function attr(name) { return script.getAttribute("data-" + name); }
  var api = attr("api") || new URL(script.src, location.href).origin;
  var KEYS = ["search", "empty", "error", "fallback", "back", "also", "searching", "results",
    "showing", "recent", "clear", "helpful", "yes", "no", "thanks", "contact", "close", "help",
    "filtered", "unfilter"];
  // One "|"-separated string per language, in KEYS order; {n} and {q} are filled in.
  var LABELS = {
    en: "Search help|No articles found.|Something went wrong. Try again.|Showing English results.|Back|Also in:|Searching…|{n} results|Showing results for {q}|Recent searches|Clear|Was this article helpful?|Yes|No|Thanks for your feedback.|Contact support|Close|Help|No results with these filters.|Search without filters",
    de: "Hilfe durchsuchen|Keine Artikel gefunden.|Etwas ist schiefgelaufen. Bitte erneut versuchen.|Englische Ergebnisse werden angezeigt.|Zurück|Auch auf:|Suche…|{n} Ergebnisse|Ergebnisse für {q}|Letzte Suchen|Löschen|War dieser Artikel hilfreich?|Ja|Nein|Danke für Ihr Feedback.|Support kontaktieren|Schließen|Hilfe|Keine Ergebnisse mit diesen Filtern.|Ohne Filter suchen",
    fr: "Rechercher dans l'aide|Aucun article trouvé.|Une erreur s'est produite. Réessayez.|Résultats en anglais.|Retour|Aussi en :|Recherche…|{n} résultats|Résultats pour {q}|Recherches récentes|Effacer|Cet article vous a-t-il été utile ?|Oui|Non|Merci pour votre avis.|Contacter le support|Fermer|Aide|Aucun résultat avec ces filtres.|Rechercher sans filtres",
    fi: "Hae ohjeista|Artikkeleita ei löytynyt.|Jokin meni vikaan. Yritä uudelleen.|Näytetään englanninkieliset tulokset.|Takaisin|Myös kielillä:|Haetaan…|{n} tulosta|Näytetään tulokset haulle {q}|Viimeisimmät haut|Tyhjennä|Oliko tästä artikkelista apua?|Kyllä|Ei|Kiitos palautteesta.|Ota yhteyttä tukeen|Sulje|Ohje|Ei tuloksia näillä suodattimilla.|Hae ilman suodattimia",
    sv: "Sök i hjälpen|Inga artiklar hittades.|Något gick fel. Försök igen.|Visar engelska resultat.|Tillbaka|Även på:|Söker…|{n} resultat|Visar resultat för {q}|Senaste sökningar|Rensa|Var den här artikeln till hjälp?|Ja|Nej|Tack för din feedback.|Kontakta support|Stäng|Hjälp|Inga resultat med de här filtren.|Sök utan filter",
    uk: "Пошук у довідці|Статей не знайдено.|Сталася помилка. Спробуйте ще раз.|Показано результати англійською.|Назад|Також мовами:|Пошук…|Результатів: {n}|Результати для {q}|Нещодавні пошуки|Очистити|Чи була ця стаття корисною?|Так|Ні|Дякуємо за відгук.|Зв'язатися з підтримкою|Закрити|Довідка|Немає результатів із цими фільтрами.|Шукати без фільтрів",
    ja: "ヘルプを検索|記事が見つかりません。|エラーが発生しました。もう一度お試しください。|英語の結果を表示しています。|戻る|他の言語:|検索中…|{n} 件|{q} の検索結果を表示しています|最近の検索|クリア|この記事は役に立ちましたか?|はい|いいえ|フィードバックをありがとうございました。|サポートに問い合わせる|閉じる|ヘルプ|このフィルターでは結果がありません。|フィルターなしで検索",
    zh: "搜索帮助|未找到文章。|出现错误，请重试。|显示英文结果。|返回|其他语言:|正在搜索…|{n} 个结果|显示 {q} 的结果|最近搜索|清除|这篇文章有帮助吗？|是|否|感谢您的反馈。|联系支持人员|关闭|帮助|使用这些筛选器没有结果。|不使用筛选器搜索",
    "zh-TW": "搜尋說明|找不到文章。|發生錯誤，請再試一次。|顯示英文結果。|返回|其他語言:|正在搜尋…|{n} 個結果|顯示 {q} 的結果|最近的搜尋|清除|這篇文章有幫助嗎？|是|否|感謝您的意見反應。|連絡支援人員|關閉|說明|使用這些篩選條件沒有結果。|不使用篩選條件搜尋",
    ar: "البحث في التعليمات|لم يتم العثور على مقالات.|حدث خطأ. حاول مرة أخرى.|عرض النتائج باللغة الإنجليزية.|رجوع|متوفر أيضًا بـ:|جارٍ البحث…|النتائج: {n}|عرض نتائج {q}|عمليات البحث الأخيرة|مسح|هل كانت هذه المقالة مفيدة؟|نعم|لا|شكرًا على ملاحظاتك.|الاتصال بالدعم|إغلاق|مساعدة|لا توجد نتائج مع عوامل التصفية هذه.|البحث بدون عوامل تصفية",
    he: "חיפוש בעזרה|לא נמצאו מאמרים.|משהו השתבש. נסה שוב.|מוצגות תוצאות באנגלית.|חזרה|זמין גם ב:|מחפש…|תוצאות: {n}|מוצגות תוצאות עבור {q}|חיפושים אחרונים|ניקוי|האם המאמר עזר לך?|כן|לא|תודה על המשוב.|פנייה לתמיכה|סגירה|עזרה|אין תוצאות עם המסננים האלה.|חיפוש ללא מסננים",
    fa: "جستجو در راهنما|مقاله‌ای پیدا نشد.|مشکلی پیش آمد. دوباره تلاش کنید.|نمایش نتایج انگلیسی.|بازگشت|همچنین به:|در حال جستجو…|نتایج: {n}|نمایش نتایج برای {q}|جستجوهای اخیر|پاک کردن|آیا این مقاله مفید بود؟|بله|خیر|از بازخورد شما متشکریم.|تماس با پشتیبانی|بستن|راهنما|با این فیلترها نتیجه‌ای پیدا نشد.|جستجو بدون فیلتر",
    ur: "مدد میں تلاش کریں|کوئی مضمون نہیں ملا۔|کچھ غلط ہو گیا۔ دوبارہ کوشش کریں۔|انگریزی نتائج دکھائے جا رہے ہیں۔|واپس|اس میں بھی:|تلاش جاری ہے…|نتائج: {n}|{q} کے نتائج دکھائے جا رہے ہیں|حالیہ تلاشیں|صاف کریں|کیا یہ مضمون مددگار تھا؟|ہاں|نہیں|آپ کی رائے کا شکریہ۔|سپورٹ سے رابطہ کریں|بند کریں|مدد|ان فلٹرز کے ساتھ کوئی نتیجہ نہیں ملا۔|فلٹرز کے بغیر تلاش کریں"
  };
  var RTL_SCRIPTS = /^(Arab|Hebr|Thaa|Syrc|Nkoo|Adlm|Rohg|Mand|Samr)$/;
  var RTL_LANGS = /^(ar|he|iw|fa|ur|yi|ps|sd|ug|dv|ckb|syr)$/;
  var RECENT_KEY = "helpapi-recent", seq = 0;

  function lang(tag) { return String(tag || "").split(/[-_]/)[0].toLowerCase(); }

  /* Writing direction from the locale's script (ar-Latn is left to right, az-Arab right to
   * left); a known list where Intl.Locale is missing. */
  function dirOf(tag) {
    try {
      var script = new Intl.Locale(tag).maximize().script;
      if (script) return RTL_SCRIPTS.test(script) ? "rtl" : "ltr";
    } catch (e) { /* not a valid tag or an old browser */ }
    return RTL_LANGS.test(lang(tag)) ? "rtl" : "ltr";
  }

  /* The labels for a locale ({key: text}) and the language they are in (English fallback). */
  function labelsFor(locale) {
    var l = lang(locale), key = l === "zh" && /-(TW|HK|MO|Hant)/i.test(locale) ? "zh-TW" : l;
    if (!LABELS[key]) key = "en";
    var parts = LABELS[key].split("|"), en = LABELS.en.split("|"), out = {lang: key === "en" ? "en" : locale};
    KEYS.forEach(function (k, i) { out[k] = parts[i] || en[i]; });
    return out;
  }

  function languageName(tag, ui) {
    try { return new Intl.DisplayNames([ui], {type: "language"}).of(tag) || tag; } catch (e) { return tag; }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] != null) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }

  /* A template with one {n}/{q} slot, the slot filled with a node or text. */
  function fill(template, slot, value) {
    var frag = document.createDocumentFragment(), at = template.indexOf(slot);
    if (at < 0) { frag.appendChild(document.createTextNode(template)); return frag; }
    frag.appendChild(document.createTextNode(template.slice(0, at)));
    frag.appendChild(typeof value === "object" ? value : document.createTextNode(value));
    frag.appendChild(document.createTextNode(template.slice(at + slot.length)));
    return frag;
  }

  /* The API's snippet is HTML-escaped text with <mark> around matches. Markdown markers
   * (**, __, `, headings, [text](url)) and leading punctuation ("…. ") are dropped, then it
   * is rebuilt as nodes: entities are decoded by a <textarea> (never parsed as markup). */
  var decoder = document.createElement("textarea");
  function decode(s) { decoder.innerHTML = s; return decoder.value; }
  function cleanSnippet(s) {
    return String(s || "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/\*\*|__|`+|~~/g, "")
      .replace(/(^|\s)#{1,6}\s+/g, "$1")
      .replace(/^(?:\s|&gt;|&amp;|[-.,;:!?…·•*#|)\]}>–—、。，．：；！？・])+/, "");
  }
  function snippetNodes(snippet) {
    var frag = document.createDocumentFragment();
    var parts = cleanSnippet(snippet).split(/<mark>|<\/mark>/);
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i]) continue;
      var text = document.createTextNode(decode(parts[i]));
      if (i % 2 === 1) { var m = el("mark"); m.appendChild(text); frag.appendChild(m); }
      else frag.appendChild(text);
    }
    return frag;
  }

  /* Events for the owner's insights, only when the API names its searches (query_id).
   * sendBeacon with a text/plain body needs no CORS preflight; a failure is never shown. */
  function beacon(type, hit) {
    if (!hit || !hit.qid || !navigator.sendBeacon) return;
    try {
      navigator.sendBeacon(api + "/v1/events", new Blob([JSON.stringify({type: type, query_id: hit.qid,
        article: hit.slug, locale: hit.locale, id: hit.id, position: hit.pos})], {type: "text/plain"}));
    } catch (e) { /* ignored on purpose */ }
  }

  function loadRecent() {
    try { var v = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]"); return Array.isArray(v) ? v : []; }
    catch (e) { return []; }
  }
  function saveRecent(list) {
    try { if (list.length) localStorage.setItem(RECENT_KEY, JSON.stringify(list)); else localStorage.removeItem(RECENT_KEY); }
    catch (e) { /* storage off: recent searches are only a convenience */ }
  }

  function Widget(root, locale, modal) {
    var L = labelsFor(locale), self = this, uid = "hw" + Math.random().toString(36).slice(2, 8);
    this.root = root; this.locale = locale; this.L = L; this.items = []; this.active = -1;
    this.modal = modal; this.uid = uid; this.controller = null; this.timer = null;
    this.recentOn = attr("recent") !== "off";
    root.classList.add("helpapi-widget");
    // The chrome is in the labels' language and the locale's direction; content says its own.
    root.setAttribute("lang", L.lang);
    root.setAttribute("dir", dirOf(locale));
    this.search = el("div", {"class": "hw-search"});
    this.input = el("input", {type: "search", role: "combobox", "aria-expanded": "false",
      "aria-controls": uid + "-list", "aria-autocomplete": "list", "aria-label": L.search,
      placeholder: L.search, autocomplete: "off", spellcheck: "false", "class": "hw-input",
      lang: locale, enterkeyhint: "search"});
    this.status = el("div", {"class": "hw-status", role: "status", "aria-live": "polite"});
    this.list = el("ul", {id: uid + "-list", role: "listbox", "aria-label": L.search, "class": "hw-list"});
    this.recent = el("div", {"class": "hw-recent"});
    this.article = el("section", {"class": "hw-article", "aria-label": L.search});
    this.list.hidden = this.article.hidden = true;
    [this.input, this.status, this.list, this.recent].forEach(function (n) { self.search.appendChild(n); });
    root.appendChild(this.search); root.appendChild(this.article);
    this.input.addEventListener("input", function () { self.schedule(); });
    this.input.addEventListener("keydown", function (e) { self.key(e); });
    this.showRecent();
  }

  Widget.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.query(self.input.value); }, 120);
  };

  Widget.prototype.query = function (text) {
    var self = this, id = ++seq;
    if (this.controller) this.controller.abort();  // an older answer never lands
    if (!text.trim()) { this.refines = null; this.render(null); return; }
    this.controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    var params = new URLSearchParams({q: text.slice(0, 256), locale: this.locale,
      prefix: "true", limit: "8"});
    /* The previous keystroke's search, superseded by this one in the owner's insights. */
    if (this.refines) params.set("refines", this.refines);
    // data-filter="audience:Admin;service:o365-administration": one filter param each,
    // until the user asks to search without them (render: filtered_out).
    (this.unfiltered ? "" : attr("filter") || "").split(";").forEach(function (f) {
      if (f.trim()) params.append("filter", f.trim());
    });
    var url = api + "/v1/search?" + params;
    this.status.className = "hw-status"; this.status.textContent = this.L.searching;
    fetch(url, {signal: this.controller && this.controller.signal, headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (body) { if (id === seq) { self.refines = body.query_id; self.render(body); } })
      .catch(function (err) {
        if (id !== seq || (err && err.name === "AbortError")) return;
        self.render(null); self.fail();
      });
  };

  Widget.prototype.fail = function () {
    this.status.textContent = this.L.error; this.status.className = "hw-status hw-error";
  };

  Widget.prototype.render = function (body) {
    var self = this, L = this.L, st = this.status;
    this.list.textContent = ""; this.items = []; this.active = -1;
    st.className = "hw-status"; st.textContent = "";
    this.input.removeAttribute("aria-activedescendant");
    this.showRecent();
    if (!body) { this.toggle(false); return; }
    if (body.corrected) {
      var q = el("b", {lang: body.locale, dir: "auto"}, body.corrected);
      st.appendChild(el("p", {"class": "hw-corrected"})).appendChild(fill(L.showing, "{q}", q));
    }
    if (body.fallback) st.appendChild(el("p", {"class": "hw-fallback"}, L.fallback));
    var results = body.results || [];
    if (!results.length && body.filtered_out) {
      /* The filters removed every match (the locale has some): say so, and offer the search
       * without them. Focus goes to the box first: the button leaves with this state. */
      var note = st.appendChild(el("p", {"class": "hw-filtered"}, L.filtered + " "));
      note.appendChild(el("button", {type: "button", "class": "hw-unfilter"}, L.unfilter))
        .addEventListener("click", function () {
          self.unfiltered = true; self.input.focus(); self.query(self.input.value);
        });
      this.toggle(false); return;
    }
    if (!results.length) {
      var empty = st.appendChild(el("p", {"class": "hw-empty"}, L.empty));
      var href = attr("contact-url");
      if (href && /^(https?:|mailto:|\/)/i.test(href)) {
        empty.appendChild(document.createTextNode(" "));
        empty.appendChild(el("a", {"class": "hw-contact", href: href}, attr("contact-label") || L.contact));
      }
      this.toggle(false); return;
    }
    st.appendChild(el("p", {"class": "hw-count"})).appendChild(fill(L.results, "{n}", String(body.total)));
    results.forEach(function (hit, i) {
      var loc = hit.locale || body.locale;
      var li = el("li", {role: "option", id: self.uid + "-o" + i, "aria-selected": "false",
        "class": "hw-option", lang: loc, dir: dirOf(loc)});
      li.appendChild(el("span", {"class": "hw-title"}, hit.title));
      li.appendChild(el("span", {"class": "hw-snippet"})).appendChild(snippetNodes(hit.snippet));
      var item = {id: hit.id, slug: hit.slug || hit.id, locale: loc, qid: body.query_id, pos: (body.offset || 0) + i};
      li.addEventListener("mousedown", function (e) { e.preventDefault(); self.choose(item); });
      self.list.appendChild(li); self.items.push(item);
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
    else if (e.key === "Enter" && this.items.length) {
      e.preventDefault(); this.choose(this.items[Math.max(this.active, 0)]);
    }
    else if (e.key === "Escape" && !this.modal) {  // in the modal, Escape closes the dialog
      if (!this.list.hidden) this.toggle(false); else { this.input.value = ""; this.render(null); }
    }
  };

  /* A result chosen from the list: remember the search, report the click, open it. */
  Widget.prototype.choose = function (item) {
    var text = this.input.value.trim();
    if (this.recentOn && text) {
      saveRecent([text].concat(loadRecent().filter(function (t) { return t !== text; })).slice(0, 5));
    }
    beacon("click", item);
    this.refines = null;  // a search acted on ends the chain: the next one stands alone
    this.open(item, item.locale);
  };

  Widget.prototype.showRecent = function () {
    var self = this, box = this.recent, list = this.recentOn && !this.input.value.trim() ? loadRecent() : [];
    box.textContent = ""; box.hidden = !list.length;
    if (!list.length) return;
    var head = box.appendChild(el("div", {"class": "hw-recent-head"}));
    head.appendChild(el("span", {id: this.uid + "-recent"}, this.L.recent));
    var clear = head.appendChild(el("button", {type: "button", "class": "hw-clear"}, this.L.clear));
    clear.addEventListener("click", function () { saveRecent([]); self.showRecent(); self.input.focus(); });
    var ul = box.appendChild(el("ul", {"aria-labelledby": this.uid + "-recent"}));
    list.forEach(function (text) {
      var b = ul.appendChild(el("li")).appendChild(el("button", {type: "button", dir: "auto", "class": "hw-again"}, text));
      b.addEventListener("click", function () { self.input.value = text; self.input.focus(); self.query(text); });
    });
  };

  Widget.prototype.open = function (item, locale) {
    var self = this;
    var url = api + "/v1/articles/" + encodeURIComponent(item.slug).replace(/%2F/g, "/") +
      "?locale=" + encodeURIComponent(locale);
    fetch(url, {headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (a) { self.showArticle(a, item); })
      .catch(function () { self.fail(); });
  };

  Widget.prototype.showArticle = function (a, item) {
    var self = this, L = this.L, box = this.article;
    box.textContent = "";
    var back = box.appendChild(el("button", {type: "button", "class": "hw-back"}, L.back));
    back.addEventListener("click", function () {
      box.hidden = true; self.search.hidden = false; self.input.focus();
    });
    if (a.fallback) box.appendChild(el("p", {"class": "hw-fallback"}, L.fallback));
    var body = box.appendChild(el("div", {"class": "hw-body", lang: a.locale, dir: dirOf(a.locale)}));
    body.innerHTML = a.html;  // sanitized by the API (no script, handlers or javascript: URLs)
    var others = (a.locales || []).filter(function (l) { return l !== a.locale; });
    if (others.length) {
      var nav = box.appendChild(el("nav", {"class": "hw-locales", "aria-label": L.also}, L.also + " "));
      others.forEach(function (l) {
        var b = nav.appendChild(el("button", {type: "button", "data-locale": l}, languageName(l, L.lang)));
        b.addEventListener("click", function () { self.open(item, l); });
      });
    }
    var fb = box.appendChild(el("div", {"class": "hw-feedback"}));
    fb.appendChild(el("span", {id: this.uid + "-fb"}, L.helpful));
    [["helpful", L.yes], ["not_helpful", L.no]].forEach(function (pair) {
      var b = fb.appendChild(el("button", {type: "button", "class": "hw-vote", "data-vote": pair[0],
        "aria-describedby": self.uid + "-fb"}, pair[1]));
      b.addEventListener("click", function () {
        beacon(pair[0], item);
        fb.textContent = "";  // focus moves to the thanks, not to the page behind
        fb.appendChild(el("p", {role: "status", "class": "hw-thanks", tabindex: "-1"}, L.thanks)).focus();
      });
    });
    this.search.hidden = true; box.hidden = false; back.focus();
  };

  function editable(node) {
    return node && (node.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(node.tagName));
  }

  /* The launcher: a floating button and a modal dialog holding a widget. */
  function Launcher(locale) {
    var L = labelsFor(locale), self = this, dir = dirOf(locale);
    this.button = el("button", {type: "button", "class": "hw-launcher", lang: L.lang, dir: dir,
      "aria-haspopup": "dialog", "aria-keyshortcuts": "Control+K Meta+K /", title: L.search + " (Ctrl+K)"});
    this.button.appendChild(el("span", {"aria-hidden": "true", "class": "hw-icon"}, "?"));
    this.button.appendChild(document.createTextNode(" " + L.help));
    this.overlay = el("div", {"class": "hw-overlay", lang: L.lang, dir: dir});
    this.dialog = el("div", {role: "dialog", "aria-modal": "true", "aria-label": L.search, "class": "hw-dialog"});
    var close = el("button", {type: "button", "class": "hw-close", "aria-label": L.close}, "×");
    var holder = el("div");
    this.dialog.appendChild(close); this.dialog.appendChild(holder);
    this.overlay.appendChild(this.dialog); this.overlay.hidden = true;
    document.body.appendChild(this.button); document.body.appendChild(this.overlay);
    this.widget = new Widget(holder, locale, true);
    this.button.addEventListener("click", function () { self.open(); });
    close.addEventListener("click", function () { self.close(); });
    this.overlay.addEventListener("mousedown", function (e) { if (e.target === self.overlay) self.close(); });
    this.dialog.addEventListener("keydown", function (e) { self.trap(e); });
    document.addEventListener("keydown", function (e) {
      var k = (e.key || "").toLowerCase();
      if (e.key === "Escape" && !self.overlay.hidden) { e.preventDefault(); self.close(); }
      else if (k === "k" && (e.ctrlKey || e.metaKey) && !e.altKey) {
        e.preventDefault(); if (self.overlay.hidden) self.open(); else self.close();
      } else if (e.key === "/" && self.overlay.hidden && !e.ctrlKey && !e.metaKey && !e.altKey &&
                 !editable(e.target)) {
        e.preventDefault(); self.open();
      }
    });
    // Focus that leaves the open dialog (a click on the page behind it) is brought back.
    document.addEventListener("focusin", function (e) {
      if (!self.overlay.hidden && !self.dialog.contains(e.target)) self.widget.input.focus();
    });
  }

  Launcher.prototype.open = function () {
    var a = document.activeElement;
    this.opener = a && a !== document.body && a !== document.documentElement ? a : this.button;
    this.overlay.hidden = false;
    document.documentElement.classList.add("hw-noscroll");
    var w = this.widget;
    if (!w.article.hidden) w.article.querySelector(".hw-back").focus(); else { w.input.focus(); w.input.select(); }
  };

  Launcher.prototype.close = function () {
    this.overlay.hidden = true;
    document.documentElement.classList.remove("hw-noscroll");
    if (this.opener && this.opener.focus) this.opener.focus();
  };

  Launcher.prototype.trap = function (e) {
    if (e.key !== "Tab") return;
    var nodes = [].filter.call(this.dialog.querySelectorAll(
      "button,input,select,textarea,a[href],[tabindex]:not([tabindex='-1'])"),
      function (n) { return !n.disabled && n.getClientRects().length > 0; });
    if (!nodes.length) return;
    var first = nodes[0], last = nodes[nodes.length - 1], at = document.activeElement;
    if (e.shiftKey && (at === first || !this.dialog.contains(at))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && at === last) { e.preventDefault(); first.focus(); }
  };

  function start() {
    var locale = attr("locale") || document.documentElement.lang ||
      (navigator.languages && navigator.languages[0]) || navigator.language || "en-US";
    if (!document.getElementById("helpapi-widget-css")) {
      document.head.appendChild(el("link", {id: "helpapi-widget-css", rel: "stylesheet", href: api + "/widget.css"}));
    }
    var target = document.querySelector(attr("target") || "#help");
    var mode = attr("mode") || (target ? "inline" : "launcher");
    if (target && mode === "inline") target.helpWidget = new Widget(target, locale, false);
    if (mode === "launcher" || attr("launcher") === "on") window.helpapiLauncher = new Launcher(locale);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
