/* helpapi insights dashboard: one static page over /v1/admin/insights/*.
 *
 * The admin token is typed into the page, kept in sessionStorage (this tab only) and sent as
 * an Authorization header; it is never put in a URL. Charts are inline SVG drawn here: no
 * library, no CDN, works offline. Everything from the API is inserted as text (textContent),
 * never as markup: queries are typed by strangers.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "helpapi.admin.token";
  var LANG_KEY = "helpapi.admin.lang";
  var FILTER_KEY = "helpapi.admin.filters";
  var LIMIT = 25;
  var MAX_SERIES = 7; // locales drawn on their own; the rest are summed as "other"
  var RTL = ["ar", "he", "fa", "ur", "ps", "dv", "yi", "ckb", "sd", "ug"];
  var SVG = "http://www.w3.org/2000/svg";

  var STRINGS = {
    en: {
      skip: "Skip to content",
      title: "Search insights",
      uiLanguage: "Language",
      signOut: "Sign out",
      signIn: "Sign in",
      token: "Admin token",
      open: "Open the dashboard",
      tokenHint:
        "The token (HELPAPI_ADMIN_TOKEN) is kept in this tab only (sessionStorage) and sent as an Authorization header; it never goes into a URL.",
      filters: "Filters",
      locale: "Locale",
      allLocales: "All locales",
      period: "Period",
      d1: "Last day",
      d7: "Last 7 days",
      d30: "Last 30 days",
      d90: "Last 90 days",
      d365: "Last 365 days",
      refresh: "Refresh",
      summary: "Summary",
      searches: "Searches",
      zeroRate: "Zero-result rate",
      fallbackRate: "Answered in English",
      ctr: "Click-through rate",
      searchesPerDay: "Searches per day, by locale",
      zeroPerDay: "Zero-result rate per day",
      fallbackPerDay: "Fallback rate per day (answered in English)",
      dailyTable: "Daily figures (table)",
      topQueries: "Top queries",
      zeroQueries: "Queries with no result",
      fallbacks: "Fallbacks per locale: the translation to-do list",
      articles: "Articles",
      day: "Day",
      query: "Query",
      locales: "Locales",
      corrected: "Correction offered",
      zeroResults: "Zero results",
      answeredInEnglish: "Answered in English",
      share: "Share",
      clicked: "Searches clicked",
      article: "Article",
      shown: "Shown",
      clicks: "Clicks",
      helpful: "Helpful",
      notHelpful: "Not helpful",
      other: "other",
      none: "Nothing recorded in this period.",
      loading: "Loading…",
      updated: "Updated {time}",
      badToken: "The token is not valid.",
      disabled: "Admin routes are disabled: set HELPAPI_ADMIN_TOKEN on the server.",
      failed: "Could not load the insights: {msg}",
      recordingOff: "Recording is off (HELPAPI_ANALYTICS=off): no new searches are counted.",
      dropped: "{n} records were dropped by a full queue since the worker started.",
      todoQueries: "Queries answered in English",
      todoArticles: "English articles clicked: translate these first",
      todoFor: "{locale}: {share} of {n} searches answered in English",
      chartSearches: "Searches per day for each locale, {from} to {to}.",
      chartRate: "{what} per day, {from} to {to}; days without searches are left out.",
      pointTitle: "{day} · {name}: {value}",
    },
    ar: {
      skip: "انتقل إلى المحتوى",
      title: "إحصاءات البحث",
      uiLanguage: "اللغة",
      signOut: "تسجيل الخروج",
      signIn: "تسجيل الدخول",
      token: "رمز المسؤول",
      open: "افتح لوحة المعلومات",
      tokenHint:
        "يُحفظ الرمز (HELPAPI_ADMIN_TOKEN) في علامة التبويب هذه فقط (sessionStorage) ويُرسل في ترويسة Authorization، ولا يوضع أبدًا في عنوان URL.",
      filters: "عوامل التصفية",
      locale: "اللغة والمنطقة",
      allLocales: "كل اللغات",
      period: "الفترة",
      d1: "آخر يوم",
      d7: "آخر 7 أيام",
      d30: "آخر 30 يومًا",
      d90: "آخر 90 يومًا",
      d365: "آخر 365 يومًا",
      refresh: "تحديث",
      summary: "ملخص",
      searches: "عمليات البحث",
      zeroRate: "نسبة البحث بلا نتائج",
      fallbackRate: "أُجيب بالإنجليزية",
      ctr: "نسبة النقر",
      searchesPerDay: "عمليات البحث يوميًا حسب اللغة",
      zeroPerDay: "نسبة البحث بلا نتائج يوميًا",
      fallbackPerDay: "نسبة الإجابة بالإنجليزية يوميًا",
      dailyTable: "الأرقام اليومية (جدول)",
      topQueries: "أكثر عمليات البحث",
      zeroQueries: "عمليات بحث بلا نتائج",
      fallbacks: "الإجابة بالإنجليزية حسب اللغة: قائمة الترجمة المطلوبة",
      articles: "المقالات",
      day: "اليوم",
      query: "عبارة البحث",
      locales: "اللغات",
      corrected: "التصحيح المقترح",
      zeroResults: "بلا نتائج",
      answeredInEnglish: "أُجيب بالإنجليزية",
      share: "النسبة",
      clicked: "عمليات بحث نُقر فيها",
      article: "المقالة",
      shown: "مرات العرض",
      clicks: "النقرات",
      helpful: "مفيدة",
      notHelpful: "غير مفيدة",
      other: "أخرى",
      none: "لم يُسجَّل شيء في هذه الفترة.",
      loading: "جارٍ التحميل…",
      updated: "حُدِّث {time}",
      badToken: "الرمز غير صالح.",
      disabled: "مسارات المسؤول معطّلة: عيّن HELPAPI_ADMIN_TOKEN على الخادم.",
      failed: "تعذّر تحميل الإحصاءات: {msg}",
      recordingOff: "التسجيل متوقف (HELPAPI_ANALYTICS=off).",
      dropped: "أُسقط {n} من السجلات بسبب امتلاء الطابور.",
      todoQueries: "عمليات بحث أُجيبت بالإنجليزية",
      todoArticles: "مقالات إنجليزية نُقر عليها: ترجمها أولًا",
      todoFor: "{locale}: ‏{share} من {n} عملية بحث أُجيبت بالإنجليزية",
      chartSearches: "عمليات البحث يوميًا لكل لغة، من {from} إلى {to}.",
      chartRate: "{what} يوميًا، من {from} إلى {to}؛ الأيام بلا بحث غير معروضة.",
      pointTitle: "{day} · {name}: {value}",
    },
  };

  var lang = "en";
  var loads = 0;
  var knownLocales = {};
  var last = null; // the last answers, redrawn when the UI language changes

  function $(id) {
    return document.getElementById(id);
  }

  function t(key, vars) {
    var s = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    if (vars) {
      Object.keys(vars).forEach(function (k) {
        s = s.split("{" + k + "}").join(String(vars[k]));
      });
    }
    return s;
  }

  function isRtl() {
    return RTL.indexOf(lang.split("-")[0]) >= 0;
  }

  // Latin digits in every UI language: the figures stay comparable with the API and CSV.
  function fmtInt(n) {
    return new Intl.NumberFormat(lang + "-u-nu-latn").format(n || 0);
  }

  function fmtPct(v) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    return (v * 100).toFixed(1) + "%";
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        e.setAttribute(k, attrs[k]);
      });
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        e.setAttribute(k, attrs[k]);
      });
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  // -- language and direction ---------------------------------------------------------------

  function applyLang() {
    document.documentElement.lang = lang;
    document.documentElement.dir = isRtl() ? "rtl" : "ltr";
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].dataset.i18n);
    document.title = "helpapi · " + t("title");
    $("ui-lang").value = lang;
    if (last) render(last);
  }

  function initialLang() {
    var saved = null;
    try {
      saved = localStorage.getItem(LANG_KEY);
    } catch (e) {
      /* storage may be disabled */
    }
    if (saved && STRINGS[saved]) return saved;
    var nav = (navigator.language || "en").split("-")[0];
    return STRINGS[nav] ? nav : "en";
  }

  // -- token ----------------------------------------------------------------------------------

  function getToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (e) {
      return "";
    }
  }

  function setToken(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* storage may be disabled: the token then lives for this page only */
    }
    memoryToken = value;
  }

  var memoryToken = "";

  function showLogin(message) {
    $("board").hidden = true;
    $("sign-out").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("token").focus();
  }

  function showBoard() {
    $("login").hidden = true;
    $("board").hidden = false;
    $("sign-out").hidden = false;
  }

  // -- data -----------------------------------------------------------------------------------

  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }

  function api(name, params) {
    var qs = new URLSearchParams(params).toString();
    return fetch("/v1/admin/insights/" + name + "?" + qs, {
      headers: { Authorization: "Bearer " + (getToken() || memoryToken), Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
    }).then(function (resp) {
      return resp
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          if (!resp.ok) {
            var msg = (body && body.error && body.error.message) || "HTTP " + resp.status;
            throw new ApiError(resp.status, msg);
          }
          return body;
        });
    });
  }

  function filters() {
    return { locale: $("f-locale").value, days: $("f-days").value };
  }

  function load() {
    var f = filters();
    try {
      sessionStorage.setItem(FILTER_KEY, JSON.stringify(f));
    } catch (e) {
      /* not needed */
    }
    var params = { days: f.days, limit: String(LIMIT) };
    if (f.locale) params.locale = f.locale;
    $("status").textContent = t("loading");
    $("board").setAttribute("aria-busy", "true");
    return Promise.all([
      api("daily", params),
      api("queries", params),
      api("zero-results", params),
      api("fallbacks", params),
      api("articles", params),
    ])
      .then(function (r) {
        last = {
          filters: f,
          daily: r[0],
          queries: r[1].queries,
          zero: r[2].zero_results,
          fallbacks: r[3].fallbacks,
          articles: r[4].articles,
          at: new Date(),
        };
        showBoard();
        render(last);
        loads += 1;
        $("board").dataset.loads = String(loads);
        $("board").dataset.filters = f.locale + "|" + f.days;
      })
      .catch(function (err) {
        if (err instanceof ApiError && err.status === 401) {
          setToken("");
          showLogin(t("badToken"));
        } else if (err instanceof ApiError && err.status === 403) {
          showLogin(t("disabled"));
        } else {
          $("status").textContent = t("failed", { msg: err.message || String(err) });
        }
      })
      .then(function () {
        $("board").removeAttribute("aria-busy");
      });
  }

  function loadLocales() {
    // The indexed locales (public route); requested-only locales are added from the data.
    return fetch("/v1/locales", { headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.ok ? r.json() : { locales: [] };
      })
      .then(function (body) {
        (body.locales || []).forEach(function (l) {
          knownLocales[l.locale] = true;
        });
      })
      .catch(function () {});
  }

  function fillLocaleSelect() {
    var select = $("f-locale");
    var current = select.value;
    var have = {};
    for (var i = 1; i < select.options.length; i++) have[select.options[i].value] = true;
    Object.keys(knownLocales)
      .sort()
      .forEach(function (loc) {
        if (!have[loc]) select.appendChild(el("option", { value: loc, dir: "ltr" }, loc));
      });
    select.value = current;
  }

  // -- the series -----------------------------------------------------------------------------

  function dayList(days) {
    // The UTC days the period touches: from (now - days) to today, as the API counts them.
    var out = [];
    var end = new Date();
    var start = new Date(end.getTime() - Number(days) * 86400000);
    var d = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
    var stop = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate());
    for (; d <= stop; d += 86400000) out.push(new Date(d).toISOString().slice(0, 10));
    return out;
  }

  function series(data) {
    var days = dayList(data.filters.days);
    var index = {};
    days.forEach(function (d, i) {
      index[d] = i;
    });
    var totals = days.map(function (d) {
      return { day: d, searches: 0, zero_results: 0, fallbacks: 0, clicked: 0 };
    });
    var byLocale = {};
    (data.daily.daily || []).forEach(function (row) {
      var i = index[row.day];
      if (i === undefined) return; // a clock skew of a few seconds at the period's edge
      var tot = totals[i];
      tot.searches += row.searches;
      tot.zero_results += row.zero_results;
      tot.fallbacks += row.fallbacks;
      tot.clicked += row.clicked;
      if (!byLocale[row.locale]) byLocale[row.locale] = { total: 0, values: days.map(() => 0) };
      byLocale[row.locale].total += row.searches;
      byLocale[row.locale].values[i] += row.searches;
      knownLocales[row.locale] = true;
    });
    var names = Object.keys(byLocale).sort(function (a, b) {
      return byLocale[b].total - byLocale[a].total || (a < b ? -1 : 1);
    });
    var stacks = names.slice(0, MAX_SERIES).map(function (n) {
      return { name: n, values: byLocale[n].values };
    });
    if (names.length > MAX_SERIES) {
      var rest = days.map(() => 0);
      names.slice(MAX_SERIES).forEach(function (n) {
        byLocale[n].values.forEach(function (v, i) {
          rest[i] += v;
        });
      });
      stacks.push({ name: t("other"), values: rest, other: true });
    }
    return { days: days, totals: totals, stacks: stacks };
  }

  // -- charts ---------------------------------------------------------------------------------

  var W = 720;
  var H = 240;
  var PAD = { top: 12, bottom: 28, side: 44, end: 12 };

  // The top of an axis with four round steps: 1, 2 or 5 times a power of ten each.
  function niceMax(v, minStep) {
    var raw = Math.max(v / 4, minStep);
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= raw - 1e-12) return 4 * steps[i] * p;
    return 40 * p;
  }

  function frame(host, title, desc) {
    var id = host.id;
    var root = svg("svg", {
      viewBox: "0 0 " + W + " " + H,
      role: "img",
      "aria-labelledby": id + "-title " + id + "-desc",
      preserveAspectRatio: "none",
      class: "chart-svg",
    });
    root.appendChild(svg("title", { id: id + "-title" }, title));
    root.appendChild(svg("desc", { id: id + "-desc" }, desc));
    clear(host).appendChild(root);
    return root;
  }

  // x of the middle of day i: mirrored in right-to-left, so time runs in the reading direction.
  function xAt(i, n) {
    var inner = W - PAD.side - PAD.end;
    var step = inner / Math.max(n, 1);
    var x = PAD.side + step * (i + 0.5);
    return { x: isRtl() ? W - x : x, step: step };
  }

  function axes(root, n, max, fmt, days) {
    var g = svg("g", { class: "axis", "aria-hidden": "true" });
    for (var k = 0; k <= 4; k++) {
      var v = (max * k) / 4;
      var y = H - PAD.bottom - ((H - PAD.top - PAD.bottom) * k) / 4;
      var x1 = isRtl() ? PAD.end : PAD.side;
      var x2 = isRtl() ? W - PAD.side : W - PAD.end;
      g.appendChild(svg("line", { x1: x1, x2: x2, y1: y, y2: y, class: k ? "gridline" : "base" }));
      g.appendChild(
        svg(
          "text",
          {
            x: isRtl() ? W - PAD.side + 6 : PAD.side - 6,
            y: y + 4,
            "text-anchor": isRtl() ? "start" : "end",
            direction: "ltr",
          },
          fmt(v)
        )
      );
    }
    var marks = n <= 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];
    marks.forEach(function (i, j) {
      if (j && i === marks[j - 1]) return;
      g.appendChild(
        svg(
          "text",
          { x: xAt(i, n).x, y: H - 8, "text-anchor": "middle", direction: "ltr" },
          days[i].slice(5)
        )
      );
    });
    root.appendChild(g);
  }

  function drawStacked(host, s) {
    var n = s.days.length;
    var totals = s.days.map(function (_, i) {
      return s.stacks.reduce(function (a, st) {
        return a + st.values[i];
      }, 0);
    });
    var max = niceMax(Math.max.apply(null, totals.concat([0])), 1);
    var root = frame(
      host,
      t("searchesPerDay"),
      t("chartSearches", { from: s.days[0], to: s.days[n - 1] })
    );
    axes(root, n, max, function (v) {
      return fmtInt(Math.round(v));
    }, s.days);
    var inner = H - PAD.top - PAD.bottom;
    var bars = svg("g", { class: "bars" });
    for (var i = 0; i < n; i++) {
      var pos = xAt(i, n);
      var bw = Math.max(1, pos.step * 0.72);
      var y = H - PAD.bottom;
      s.stacks.forEach(function (st, k) {
        var v = st.values[i];
        if (!v) return;
        var h = (v / max) * inner;
        y -= h;
        var r = svg("rect", {
          x: pos.x - bw / 2,
          y: y,
          width: bw,
          height: h,
          class: "s" + (st.other ? "x" : k),
        });
        r.appendChild(
          svg("title", null, t("pointTitle", { day: s.days[i], name: st.name, value: fmtInt(v) }))
        );
        bars.appendChild(r);
      });
    }
    root.appendChild(bars);
    var legend = clear($("legend"));
    s.stacks.forEach(function (st, k) {
      var total = st.values.reduce(function (a, b) {
        return a + b;
      }, 0);
      var li = el("li", { "data-locale": st.other ? "" : st.name });
      li.appendChild(el("span", { class: "swatch s" + (st.other ? "x" : k), "aria-hidden": "true" }));
      li.appendChild(el("span", { dir: "ltr", class: "legend-name" }, st.name));
      li.appendChild(el("span", { class: "legend-n" }, fmtInt(total)));
      legend.appendChild(li);
    });
  }

  function drawRate(host, s, key, what, cls) {
    var n = s.days.length;
    var values = s.totals.map(function (d) {
      return d.searches ? d[key] / d.searches : null;
    });
    var present = values.filter(function (v) {
      return v !== null;
    });
    var top = niceMax(Math.max.apply(null, present.concat([0])), 0.01);
    var max = top > 1 ? 1 : top; // 100 % in quarters
    var root = frame(host, what, t("chartRate", { what: what, from: s.days[0], to: s.days[n - 1] }));
    axes(root, n, max, function (v) {
      return Math.round(v * 100) + "%";
    }, s.days);
    var inner = H - PAD.top - PAD.bottom;
    var d = "";
    var pen = false;
    var dots = svg("g", { class: "dots " + cls });
    values.forEach(function (v, i) {
      if (v === null) {
        pen = false;
        return;
      }
      var x = xAt(i, n).x;
      var y = H - PAD.bottom - (v / max) * inner;
      d += (pen ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1) + " ";
      pen = true;
      var c = svg("circle", { cx: x, cy: y, r: 3.5 });
      c.appendChild(
        svg(
          "title",
          null,
          t("pointTitle", { day: s.days[i], name: what, value: fmtPct(v) }) +
            " (" +
            fmtInt(s.totals[i][key]) +
            " / " +
            fmtInt(s.totals[i].searches) +
            ")"
        )
      );
      dots.appendChild(c);
    });
    if (d) root.appendChild(svg("path", { d: d, class: "line " + cls }));
    root.appendChild(dots);
  }

  // -- tables ---------------------------------------------------------------------------------

  // columns: [{key, label, kind: "int" | "pct" | "text" | "code", dir}]
  function table(host, labelledBy, columns, rows, name) {
    clear(host);
    if (!rows.length) {
      host.appendChild(el("p", { class: "empty" }, t("none")));
      return;
    }
    var tbl = el("table", { "aria-labelledby": labelledBy, "data-table": name });
    var head = el("thead");
    var tr = el("tr");
    columns.forEach(function (c) {
      tr.appendChild(
        el("th", { scope: "col", class: c.kind === "int" || c.kind === "pct" ? "num" : "" }, c.label)
      );
    });
    head.appendChild(tr);
    tbl.appendChild(head);
    var body = el("tbody");
    rows.forEach(function (row) {
      var r = el("tr");
      columns.forEach(function (c, j) {
        var v = row[c.key];
        var text = c.kind === "int" ? fmtInt(v) : c.kind === "pct" ? fmtPct(v) : v === null || v === undefined ? "–" : v;
        var attrs = { "data-col": c.key };
        if (c.kind === "int" || c.kind === "pct") attrs.class = "num";
        if (c.kind === "text") attrs.dir = "auto"; // queries in any script
        if (c.kind === "code") attrs.dir = "ltr";
        var cell = el(j === 0 ? "th" : "td", attrs, text);
        if (j === 0) cell.setAttribute("scope", "row");
        if (c.kind === "pct" && v !== null && v !== undefined) {
          cell.appendChild(el("span", { class: "meter", "aria-hidden": "true" }));
          cell.lastChild.style.inlineSize = Math.round(Math.min(1, v) * 100) + "%";
        }
        r.appendChild(cell);
      });
      body.appendChild(r);
    });
    tbl.appendChild(body);
    var wrap = el("div", { class: "scroll", tabindex: "0", role: "region", "aria-labelledby": labelledBy });
    wrap.appendChild(tbl);
    host.appendChild(wrap);
  }

  function todoList(data) {
    var host = clear($("todo"));
    data.fallbacks
      .filter(function (f) {
        return f.fallback_searches > 0;
      })
      .forEach(function (f) {
        var box = el("article", { class: "todo-item", "data-locale": f.locale });
        box.appendChild(
          el(
            "h3",
            null,
            t("todoFor", { locale: f.locale, share: fmtPct(f.fallback_share), n: fmtInt(f.searches) })
          )
        );
        var cols = el("div", { class: "todo-cols" });
        [
          [t("todoArticles"), f.english_articles_clicked, "article", "clicks", "ltr"],
          [t("todoQueries"), f.top_queries, "query", "searches", "auto"],
        ].forEach(function (spec) {
          var part = el("div");
          part.appendChild(el("h4", null, spec[0]));
          if (!spec[1].length) {
            part.appendChild(el("p", { class: "empty" }, t("none")));
          } else {
            var ol = el("ol");
            spec[1].forEach(function (item) {
              var li = el("li");
              li.appendChild(el("span", { dir: spec[4], class: "todo-name" }, item[spec[2]]));
              li.appendChild(el("span", { class: "todo-n" }, fmtInt(item[spec[3]])));
              ol.appendChild(li);
            });
            part.appendChild(ol);
          }
          cols.appendChild(part);
        });
        box.appendChild(cols);
        host.appendChild(box);
      });
  }

  function render(data) {
    var s = series(data);
    fillLocaleSelect();
    var sum = s.totals.reduce(
      function (a, d) {
        a.searches += d.searches;
        a.zero += d.zero_results;
        a.fallbacks += d.fallbacks;
        a.clicked += d.clicked;
        return a;
      },
      { searches: 0, zero: 0, fallbacks: 0, clicked: 0 }
    );
    $("kpi-searches").textContent = fmtInt(sum.searches);
    $("kpi-zero").textContent = sum.searches ? fmtPct(sum.zero / sum.searches) : "–";
    $("kpi-fallback").textContent = sum.searches ? fmtPct(sum.fallbacks / sum.searches) : "–";
    $("kpi-ctr").textContent = sum.searches ? fmtPct(sum.clicked / sum.searches) : "–";

    drawStacked($("chart-searches"), s);
    drawRate($("chart-zero"), s, "zero_results", t("zeroRate"), "zero");
    drawRate($("chart-fallback"), s, "fallbacks", t("fallbackRate"), "fallback");

    table(
      $("t-daily"),
      "h-daily",
      [
        { key: "day", label: t("day"), kind: "code" },
        { key: "searches", label: t("searches"), kind: "int" },
        { key: "zero_results", label: t("zeroResults"), kind: "int" },
        { key: "fallbacks", label: t("answeredInEnglish"), kind: "int" },
        { key: "clicked", label: t("clicked"), kind: "int" },
      ],
      s.totals.slice().reverse().filter(function (d) {
        return d.searches > 0;
      }),
      "daily"
    );
    table(
      $("t-queries"),
      "h-queries",
      [
        { key: "query", label: t("query"), kind: "text" },
        { key: "searches", label: t("searches"), kind: "int" },
        { key: "click_through_rate", label: t("ctr"), kind: "pct" },
        { key: "zero_result_rate", label: t("zeroRate"), kind: "pct" },
        { key: "fallback_rate", label: t("fallbackRate"), kind: "pct" },
      ],
      data.queries,
      "queries"
    );
    table(
      $("t-zero"),
      "h-zeroq",
      [
        { key: "query", label: t("query"), kind: "text" },
        { key: "searches", label: t("searches"), kind: "int" },
        { key: "locales", label: t("locales"), kind: "code" },
        { key: "corrected", label: t("corrected"), kind: "text" },
      ],
      data.zero,
      "zero-results"
    );
    table(
      $("t-fallbacks"),
      "h-fallbacks",
      [
        { key: "locale", label: t("locale"), kind: "code" },
        { key: "searches", label: t("searches"), kind: "int" },
        { key: "fallback_searches", label: t("answeredInEnglish"), kind: "int" },
        { key: "fallback_share", label: t("share"), kind: "pct" },
      ],
      data.fallbacks,
      "fallbacks"
    );
    todoList(data);
    table(
      $("t-articles"),
      "h-articles",
      [
        { key: "article", label: t("article"), kind: "code" },
        { key: "shown", label: t("shown"), kind: "int" },
        { key: "clicks", label: t("clicks"), kind: "int" },
        { key: "click_through_rate", label: t("ctr"), kind: "pct" },
        { key: "helpful", label: t("helpful"), kind: "int" },
        { key: "not_helpful", label: t("notHelpful"), kind: "int" },
      ],
      data.articles,
      "articles"
    );
    var notes = [t("updated", { time: data.at.toLocaleTimeString(lang + "-u-nu-latn") })];
    if (data.daily.recording === false) notes.push(t("recordingOff"));
    if (data.daily.dropped) notes.push(t("dropped", { n: fmtInt(data.daily.dropped) }));
    $("status").textContent = notes.join(" · ");
  }

  // -- wiring ---------------------------------------------------------------------------------

  function start() {
    lang = initialLang();
    applyLang();
    try {
      var f = JSON.parse(sessionStorage.getItem(FILTER_KEY) || "null");
      if (f) {
        if (f.locale) {
          $("f-locale").appendChild(el("option", { value: f.locale, dir: "ltr" }, f.locale));
          $("f-locale").value = f.locale;
        }
        if (f.days) $("f-days").value = f.days;
      }
    } catch (e) {
      /* a bad saved value: the defaults */
    }
    $("ui-lang").addEventListener("change", function () {
      lang = this.value;
      try {
        localStorage.setItem(LANG_KEY, lang);
      } catch (e) {
        /* not needed */
      }
      applyLang();
    });
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault(); // never a navigation: the token must not reach a URL or history
      var value = $("token").value.trim();
      if (!value) return;
      setToken(value);
      $("token").value = "";
      $("login-error").textContent = "";
      load();
    });
    $("sign-out").addEventListener("click", function () {
      setToken("");
      last = null;
      showLogin("");
    });
    $("filters").addEventListener("submit", function (ev) {
      ev.preventDefault();
    });
    $("f-locale").addEventListener("change", load);
    $("f-days").addEventListener("change", load);
    $("refresh").addEventListener("click", load);
    loadLocales().then(fillLocaleSelect);
    if (getToken()) load();
    else showLogin("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
