/* certcli verification page: the verdict of a scanned QR code (URL#PAYLOAD), in the browser.
 *
 * 1. The signature and every offline rule, here (verifier.js), against the signed trust
 *    bundle trust-data.js carries: no server round trip is needed for the verdict.
 * 2. Live status: when the page knows the issuer's server (data.api) it asks it
 *    (POST /api/v1/verify/qr) and shows a revocation; when it cannot reach it, it says so
 *    plainly and keeps the offline verdict.
 * 3. The number + name lookup and the PDF check ask the server (they need its records).
 *
 * Words come from certcli's one message catalog (data.text); text is only ever set with
 * textContent; no inline script or style (the page's CSP forbids both).
 */
(function () {
  "use strict";

  var D = window.CERTCLI_VERIFIER_DATA || {};
  var V = window.CertcliVerifier;
  var TEXT = D.text || { zh: {}, en: {} };
  var LIVE_TIMEOUT_MS = 8000;
  var MAX_PDF_BYTES = 20 * 1024 * 1024;
  // fact -> catalog label (as `certcli verify` prints them)
  var FACT_LABELS = { certificate_no: "certificate_no", name: "name", qualification: "qualification",
    level: "level", issued_on: "issued_on", issuer: "issuer", status: "status",
    qualification_code: "qualification_code", seal: "e_seal", signed_at: "signed_at", valid_from: "valid_from",
    valid_until: "valid_through", key_id: "key_id", approval_no: "approval_no", birth_date: "birth_date",
    mobile: "mobile", email: "email", inspection: "inspection", transfers: "transfers", kind: "kind",
    membership: "membership_review", paper_certificate: "paper_certificate", latest_inspection: "latest_inspection",
    inspection_overdue: "inspection_overdue", paper_invalid_from: "paper_invalid_from",
    annotation_no: "annotation_no", scenario: "scenario" };
  var HIDDEN_FACTS = ["valid_from", "valid_through", "key_id", "qualification_code"];
  var WORDED = { status: "status_", membership: "progress_", paper_certificate: "paper_state_", kind: "kind_" };
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  var lang = chooseLang();
  var state = { payload: null, local: null, localError: null, live: { state: "none" } };
  var sequence = 0;
  var bundlePromise = loadBundle();
  var answers = { lookup: null, pdf: null };

  function $(id) { return document.getElementById(id); }

  function chooseLang() {
    var wanted = new URLSearchParams(location.search).get("lang");
    if (wanted !== "zh" && wanted !== "en") {
      try { wanted = localStorage.getItem("certcli-lang"); } catch (e) { wanted = null; }
    }
    return wanted === "en" || wanted === "zh" ? wanted : (D.lang === "en" ? "en" : "zh");
  }

  // --------------------------------------------------------------------- words

  function has(key) { return Object.prototype.hasOwnProperty.call(TEXT[lang] || {}, key); }

  /** i18n.t: a catalog template filled from data; [[ … ]] parts left out when a field they show is empty. */
  function t(key, data) {
    data = data || {};
    var template = has(key) ? TEXT[lang][key] : key;
    template = template.replace(/\[\[(.*?)\]\]/g, function (_, inner) {
      var names = inner.match(/\{(\w+)\}/g) || [];
      return names.every(function (n) { var v = data[n.slice(1, -1)]; return v !== undefined && v !== null && v !== ""; })
        ? inner : "";
    });
    return template.replace(/\{(\w+)\}/g, function (_, name) {
      var value = data[name];
      return value === undefined || value === null ? "" : String(value);
    });
  }

  function words(key, fallback) { return has(key) ? t(key) : fallback; }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function zone() { return lang === "zh" ? "（北京时间）" : " (Beijing time)"; }

  function formatDay(iso, withZone) {       // i18n.format_day of an ISO date
    var m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(iso || "");
    if (!m) return iso || "";
    var text = lang === "zh" ? m[1] + "年" + m[2] + "月" + m[3] + "日" : (+m[3]) + " " + MONTHS[+m[2] - 1] + " " + m[1];
    return withZone ? text + zone() : text;
  }

  function formatInstant(iso) {             // i18n.format_instant: the CST day and time
    if (!iso) return "";
    var micro = V.parseInstant(iso);
    if (micro === null) return "";
    var text = V.cstIso(micro);             // YYYY-MM-DDTHH:MM:SS…+08:00
    return formatDay(text.slice(0, 10)) + " " + text.slice(11, 16) + zone();
  }

  function localizeDates(text) {            // i18n.localize_dates: "2026-03-01 10:00 (UTC+8)" in the page's style
    return (text || "").replace(/(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d)(?::(\d\d))? \(UTC\+8\)/g, function (all, y, mo, d, h, mi) {
      return formatDay(y + "-" + mo + "-" + d) + " " + h + ":" + mi + zone();
    });
  }

  function reasonWords(reason) { return words("reason." + reason, reason); }

  // --------------------------------------------------------------------- trust bundle and ledgers

  function loadBundle() {
    if (!V) return Promise.reject({ reason: "no_verifier" });
    if (!D.bundle) return Promise.reject({ reason: "bundle_missing" });
    return V.parseBundle(D.bundle);
  }

  async function loadLedger(reference) {
    var embedded = (D.ledgers || {})[reference.file_name];
    if (embedded) return V.base64Decode(embedded);
    if (D.ledger_base === null || D.ledger_base === undefined || location.protocol === "file:") return null;
    try {
      var answer = await fetch(D.ledger_base + reference.file_name, { cache: "no-cache" });
      return answer.ok ? new Uint8Array(await answer.arrayBuffer()) : null;
    } catch (e) {
      return null;
    }
  }

  function qualificationName(code) { return (D.qualifications || {})[code] || null; }

  function maxBundleAge() {
    return typeof D.max_bundle_age_days === "number" ? D.max_bundle_age_days * 86400 * 1e6 : null;
  }

  // --------------------------------------------------------------------- the server

  function apiUrl(path) { return (D.api || "") + path; }

  /** One call to the issuer's server: {ok, status, doc} or {ok: false, unreachable: true}.  Bodies go as
   * text/plain so a page on another host makes a simple CORS request (no preflight). */
  async function call(path, options) {
    if (D.api === null || D.api === undefined) return { ok: false, off: true };
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, LIVE_TIMEOUT_MS);
    try {
      var init = { method: options.method || "GET", signal: controller.signal, cache: "no-store",
        credentials: "omit", headers: { "Accept-Language": lang } };
      if (options.body !== undefined) {
        init.body = options.body;
        init.headers["Content-Type"] = "text/plain;charset=UTF-8";
      }
      var answer = await fetch(apiUrl(path), init);
      var doc = null;
      try { doc = await answer.json(); } catch (e) { doc = null; }
      if (answer.status === 429) return { ok: false, limited: true, doc: doc };
      if (!doc || typeof doc !== "object" || answer.status >= 500) return { ok: false, unreachable: true };
      return { ok: answer.ok, status: answer.status, doc: doc };
    } catch (e) {
      return { ok: false, unreachable: true };
    } finally {
      clearTimeout(timer);
    }
  }

  async function askLive(payload) {
    var result = await call("/api/v1/verify/qr", { method: "POST", body: JSON.stringify({ payload: payload }) });
    if (result.off) return { state: "off" };
    if (result.limited || !result.ok || typeof result.doc.valid !== "boolean") {
      return { state: result.limited ? "limited" : "unreachable" };
    }
    var doc = result.doc;
    if (doc.valid) return { state: "ok", doc: doc };
    var status = (doc.checks || []).filter(function (c) { return c.name === "certificate_status"; })[0];
    if (status && status.reason === "certificate_revoked") return { state: "revoked", doc: doc };
    return { state: "invalid", doc: doc };
  }

  // --------------------------------------------------------------------- checking a payload

  async function check(scanned) {
    var mine = ++sequence;
    var payload = V ? V.payloadOf(scanned) : scanned;
    state = { payload: payload, local: null, localError: null, live: { state: "checking" } };
    render();
    try {
      var bundle = await bundlePromise;
      var verdict = await V.verifyQr(payload, bundle, { ledger: loadLedger, qualificationName: qualificationName,
        maxBundleAge: maxBundleAge() });
      if (mine !== sequence) return;
      state.local = verdict.toJSON();
    } catch (error) {
      if (mine !== sequence) return;
      state.localError = error && error.reason ? error.reason : (error && error.name) || "error";
    }
    render();
    var live = await askLive(payload);
    if (mine !== sequence) return;
    state.live = live;
    render();
  }

  function fromHash() {
    var scanned = location.hash ? location.hash.slice(1) : "";
    if (scanned) {
      check(scanned);
    } else {
      state = { payload: null, local: null, localError: null, live: { state: "none" } };
      render();
    }
  }

  // --------------------------------------------------------------------- rendering

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function factText(key, value) {
    if (key === "valid_until") {
      return value ? formatDay(V.validThrough(V.parseInstant(value)), true) : "—";
    }
    if (key === "signed_at" || key === "valid_from" || key === "checked_at") return formatInstant(value) || "—";
    if ((key === "issued_on" || key === "birth_date" || key === "paper_invalid_from") && typeof value === "string") {
      return formatDay(value);
    }
    if (WORDED[key] && typeof value === "string") value = words(WORDED[key] + value, value);
    if (value === true || value === false) return t(value ? "label.yes" : "label.no");
    return value === null || value === undefined || value === "" ? "—" : String(value);
  }

  function fillFacts(list, facts) {
    clear(list);
    var shown = 0;
    Object.keys(facts || {}).forEach(function (key) {
      var value = facts[key];
      if (HIDDEN_FACTS.indexOf(key) >= 0 && !(key === "qualification_code" && !facts.qualification)) return;
      if (key === "valid_until" && value === null) return;
      if (key === "level" && !value && facts.kind === "membership") return;
      var label = FACT_LABELS[key] ? t("label." + FACT_LABELS[key]) : key;
      list.appendChild(el("dt", label));
      list.appendChild(el("dd", factText(key, value)));
      shown += 1;
    });
    if (facts && facts.valid_until === null && "valid_until" in facts) {
      list.appendChild(el("dt", t("check.annotation_window")));
      list.appendChild(el("dd", reasonWords("no_annotation")));
      shown += 1;
    }
    return shown;
  }

  /** Verdict.sentence, for the verdict made here. */
  function sentence(local) {
    if (!local.valid) {
      var failed = local.checks.filter(function (c) { return c.ok === false; })[0];
      var reason = reasonWords(local.reason);
      if (failed && (failed.reason === "ledger_missing" || failed.reason === "ledger_mismatch") && failed.detail) {
        reason += ": " + failed.detail;
      }
      return t("verdict.not_valid", { reason: reason });
    }
    var what = t("verdict.qr_valid");
    what += local.facts.valid_until ? t("verdict.valid_until", { until: formatDay(local.facts.valid_through, true) })
      : t("verdict.no_annotation");
    if (local.status_as_of) what += t("verdict.status_as_of", { at: formatInstant(local.status_as_of) });
    return what;
  }

  function overall() {
    var live = state.live, local = state.local;
    if (local) {
      if (!local.valid) return { state: "invalid", text: sentence(local) };
      if (live.state === "revoked") return { state: "invalid", text: t("verdict.not_valid", { reason: reasonWords("certificate_revoked") }) };
      if (live.state === "invalid") return { state: "invalid", text: live.doc.verdict || t("verdict.not_valid", { reason: reasonWords(live.doc.reason) }) };
      return { state: "valid", text: sentence(local) };
    }
    if (live.doc) return { state: live.doc.valid ? "valid" : "invalid", text: live.doc.verdict };
    if (state.localError) {
      var why = state.localError === "bundle_missing" ? t("page.bundle_missing")
        : state.localError === "VerifierUnavailable" || state.localError === "no_verifier" ? t("page.no_webcrypto")
        : t("page.bundle_invalid", { reason: words("why." + state.localError, state.localError) });
      return { state: live.state === "checking" ? "pending" : "unknown", text: why };
    }
    return { state: "pending", text: t("page.checking") };
  }

  function liveText() {
    var live = state.live, asOf = state.local && state.local.bundle_issued_at ? formatInstant(state.local.bundle_issued_at) : "";
    switch (live.state) {
      case "checking": return t("page.live_checking");
      case "ok": return t("page.live_ok");
      case "revoked": return t("page.live_revoked");
      case "invalid": return t("page.live_not_valid", { reason: reasonWords(live.doc.reason) });
      case "limited": return t("page.live_limited", { at: asOf });
      case "unreachable": return t("page.live_unreachable", { at: asOf });
      case "off": return t("page.live_off", { at: asOf });
      default: return "";
    }
  }

  function renderResult() {
    var verdictBox = $("verdict"), live = $("live"), facts = $("facts"), notes = $("notes"), checks = $("checks");
    if (state.payload === null) {
      verdictBox.dataset.state = "none";
      $("mark").textContent = "";
      $("sentence").textContent = t("page.no_payload");
      [live, facts, notes, checks].forEach(function (n) { n.hidden = true; });
      return;
    }
    var verdict = overall();
    verdictBox.dataset.state = verdict.state;
    $("mark").textContent = verdict.state === "valid" ? t("page.valid") : verdict.state === "invalid" ? t("page.not_valid")
      : verdict.state === "pending" ? t("page.checking") : t("page.unknown");
    $("sentence").textContent = verdict.text || "";
    live.dataset.live = state.live.state;
    live.textContent = liveText();
    live.hidden = !live.textContent;
    var shownFacts = state.local && state.local.valid !== undefined ? state.local.facts
      : (state.live.doc ? state.live.doc.facts : {});
    facts.hidden = !fillFacts(facts, shownFacts);
    clear(notes);
    var local = state.local;
    if (local && local.bundle_issued_at) notes.appendChild(el("p", t("verdict.bundle_as_of", { at: formatInstant(local.bundle_issued_at) })));
    (local ? local.warnings : []).forEach(function (w) {
      notes.appendChild(el("p", localizeDates(t("warning." + w.code, w.data)), "warning"));
    });
    notes.hidden = !notes.firstChild;
    var list = $("check-list");
    clear(list);
    var shownChecks = local ? local.checks : (state.live.doc ? state.live.doc.checks : []);
    (shownChecks || []).forEach(function (c) {
      var item = el("li", null, c.ok === true ? "ok" : c.ok === false ? "bad" : "skip");
      item.appendChild(el("span", words("check." + c.name, c.name), "check-name"));
      item.appendChild(el("span", (reasonWords(c.reason) + " " + localizeDates(c.detail || "")).trim(), "check-reason"));
      list.appendChild(item);
    });
    checks.hidden = !list.firstChild;
  }

  function renderAnswer(box, answer) {
    clear(box);
    if (!answer) { box.hidden = true; return; }
    box.hidden = false;
    if (answer.error) {
      box.dataset.state = "error";
      box.appendChild(el("p", answer.error, "sentence"));
      return;
    }
    var doc = answer.doc;
    box.dataset.state = doc.valid ? "valid" : "invalid";
    box.appendChild(el("p", doc.valid ? t("page.valid") : t("page.not_valid"), "mark"));
    box.appendChild(el("p", doc.verdict || "", "sentence"));
    var list = el("dl", null, "facts");
    if (fillFacts(list, doc.facts)) box.appendChild(list);
  }

  function renderStatic() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = t("page.title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-t]"), function (node) {
      if (node.id === "sentence") return;
      node.textContent = t(node.getAttribute("data-t"));
    });
    bundlePromise.then(function (bundle) {
      $("bundle-note").textContent = t("verdict.bundle_as_of", { at: formatInstant(V.cstIso(bundle.issued_at)) });
    }, function () { $("bundle-note").textContent = ""; });
  }

  function render() {
    renderResult();
    renderAnswer($("lookup-result"), answers.lookup);
    renderAnswer($("pdf-result"), answers.pdf);
  }

  function serverProblem(result) {
    if (result.off) return t("page.needs_server");
    if (result.limited) return t("page.rate_limited");
    if (result.unreachable) return t("page.server_unreachable");
    var error = result.doc && result.doc.error;
    return error && error.message ? error.message : t("page.server_unreachable");
  }

  // --------------------------------------------------------------------- start

  function start() {
    renderStatic();
    $("lang").addEventListener("click", function () {
      lang = lang === "zh" ? "en" : "zh";
      try { localStorage.setItem("certcli-lang", lang); } catch (e) { /* private mode: no memory */ }
      renderStatic();
      render();
    });
    $("paste-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = $("paste").value.trim();
      if (!text) return;
      var payload = V ? V.payloadOf(text) : text;
      if (location.hash.slice(1) === payload) check(payload);
      else location.hash = payload;          // hashchange checks it
    });
    $("lookup-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      var number = $("lookup-number").value.trim(), name = $("lookup-name").value.trim();
      if (!number || !name) return;
      answers.lookup = { error: t("page.checking") };
      render();
      var result = await call("/api/v1/lookup?number=" + encodeURIComponent(number) + "&name=" + encodeURIComponent(name), {});
      answers.lookup = result.ok ? { doc: result.doc } : { error: serverProblem(result) };
      render();
    });
    $("pdf-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      var file = $("pdf-file").files[0];
      if (!file) return;
      if (file.size > MAX_PDF_BYTES) {
        answers.pdf = { error: reasonWords("too_large") };
      } else {
        answers.pdf = { error: t("page.checking") };
        render();
        var result = await call("/api/v1/verify/pdf", { method: "POST", body: file });
        answers.pdf = result.ok ? { doc: result.doc } : { error: serverProblem(result) };
      }
      render();
    });
    window.addEventListener("hashchange", fromHash);
    fromHash();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
