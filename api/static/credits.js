/* The residents' page (/credits): look-up form, rendering and the verification mark.
 *
 * Pure helpers (code normalisation, fragment parsing, problem messages, labels) come
 * first; then rendering (DOM only, always via textContent, never HTML); then the wiring.
 * The cryptographic checks are in verify.js (GongxinVerify.verifyReply) and cosign.js
 * (witnesses); the mark shows 已验证 only after verifyReply returned ok for exactly the reply
 * being shown and, with a witness policy pinned in the page, its quorum cosigned (else 未获
 * 足够见证, a warning: the figures stay shown).
 */
(function (root) {
  "use strict";

  var CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{13}$/;
  var RETIRED = /^[0-9A-HJKMNP-TV-Z]{8}$/;
  var RETIRED_MESSAGE = {
    zh: "这是停用的 8 位旧查询码，请到社区领取新的 13 位查询码。",
    en: "This is an old 8-character code, no longer in use. Ask your community office for a new 13-character one.",
  };

  // ------------------------------------------------------------------ pure helpers

  /* A lookup code as typed, upper-cased, spaces and hyphens dropped, O read as 0 and I, L
   * as 1 (as the server forgives them). */
  function canonicalCode(text) {
    var s = String(text || "").replace(/[\s\-\u2010-\u2015\uff0d]/g, "").toUpperCase();
    return s.replace(/O/g, "0").replace(/[IL]/g, "1");
  }

  /* The 13 characters of a lookup code as typed (XXXX-XXXX-XXXXX), or null if it cannot
   * be one. */
  function normalizeCode(text) {
    var s = canonicalCode(text);
    return CROCKFORD.test(s) ? s : null;
  }

  /* Whether the text is a retired 8-character code of the first release. */
  function isRetiredCode(text) { return RETIRED.test(canonicalCode(text)); }

  /* The URL fragment "#code=XXXX-XXXX-XXXXX&k=abcd1234" as {code, keyId}; "" for what is
   * absent. The fragment never reaches the server. */
  function parseFragment(hash) {
    var params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
    var k = params.get("k") || "";
    return { code: params.get("code") || "", keyId: k, keyIdValid: !k || /^[0-9a-fA-F]{8}$/.test(k) };
  }

  /* The message for an API error: {zh, en} from the status, the problem+json body (may be
   * null) and the Retry-After header (may be null). */
  function problemMessage(status, problem, retryAfter) {
    if (status === 429) {
      var secs = parseInt(retryAfter, 10);
      var wait = secs > 0 ? secs + " 秒" : "一会儿";
      return {
        zh: "查询过于频繁，请等待" + wait + "后再试。",
        en: "Too many look-ups. Please wait " + (secs > 0 ? secs + " s" : "a moment") + " and try again.",
      };
    }
    if (status === 404 && problem && /:lookup\.code_retired$/.test(String(problem.type || ""))) {
      return RETIRED_MESSAGE;
    }
    if (status === 404) {
      return { zh: "查询码不正确，请核对后重试。", en: "Unknown lookup code. Please check it and try again." };
    }
    var p = problem && typeof problem === "object" ? problem : {};
    var zh = [p.title, p.detail].filter(function (s) { return typeof s === "string" && s; }).join("：");
    return {
      zh: zh || "查询失败（" + status + "）。",
      en: (typeof p.title_en === "string" && p.title_en) || "The look-up failed (HTTP " + status + ").",
    };
  }

  var KIND_LABELS = {
    "credit.award": "志愿服务获得积分",
    "credit.correct": "服务时长更正",
    "credit.redeem": "积分兑换",
    "credit.transfer": "积分转赠",
    "credit.expire": "积分到期",
  };

  /* What to call a history item: its description, else a label for its kind. */
  function itemLabel(item) {
    return (typeof item.description === "string" && item.description) || KIND_LABELS[item.kind] || item.kind || "记录";
  }

  /* The date (YYYY-MM-DD, China time UTC+8) of an RFC 3339 UTC time; "" if unparsable. */
  function chinaDate(time) {
    var t = Date.parse(time);
    return isNaN(t) ? "" : new Date(t + 8 * 3600 * 1000).toISOString().slice(0, 10);
  }

  /* A signed change of points: "+20", "−10", "0". */
  function signed(n) { return n > 0 ? "+" + n : n < 0 ? "\u2212" + -n : "0"; }

  // ------------------------------------------------------------------ rendering

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* Zh line plus a smaller English line, as two text nodes in `node`. */
  function setBilingual(node, zh, en) {
    node.textContent = zh;
    if (en) node.appendChild(el("span", "en", en));
  }

  function showMessage(dom, msg) {
    if (!msg) { dom.message.hidden = true; dom.message.textContent = ""; return; }
    setBilingual(dom.message, msg.zh, msg.en);
    dom.message.hidden = false;
  }

  /* The verification mark: state "pending", "ok" or "fail". */
  function renderMark(dom, state, title, detail) {
    dom.mark.className = "mark " + state;
    dom.markTitle.textContent = title;
    dom.markDetail.textContent = detail;
  }

  /* Balance, lots and history of a lookup reply (newest record first). */
  function renderReply(dom, reply) {
    dom.balance.textContent = String(reply.balance_points);
    var lots = Array.isArray(reply.lots) ? reply.lots : [];
    dom.lotsBody.textContent = "";
    lots.forEach(function (lot) {
      var tr = el("tr");
      tr.appendChild(el("td", "", lot.month));
      tr.appendChild(el("td", "", lot.community));
      tr.appendChild(el("td", "num", String(lot.points)));
      tr.appendChild(el("td", "", lot.expires_after));
      dom.lotsBody.appendChild(tr);
    });
    dom.lots.hidden = lots.length === 0;
    dom.lotsEmpty.hidden = lots.length !== 0;
    var history = Array.isArray(reply.history) ? reply.history.slice().reverse() : [];
    dom.history.textContent = "";
    history.forEach(function (item) {
      var li = el("li");
      var left = el("div");
      left.appendChild(el("div", "what", itemLabel(item)));
      left.appendChild(el("div", "meta", chinaDate(item.log_time) + " · 余额 " + item.balance_after + " · #" + item.index));
      li.appendChild(left);
      var d = item.change_points;
      li.appendChild(el("div", "delta " + (d > 0 ? "plus" : d < 0 ? "minus" : ""), signed(d)));
      dom.history.appendChild(li);
    });
    dom.historyEmpty.hidden = history.length !== 0;
  }

  /* "YYYY-MM-DD HH:MM" in China time (UTC+8) of POSIX seconds; "" if out of range. */
  function chinaTime(seconds) {
    var t = seconds * 1000 + 8 * 3600 * 1000;
    return Number.isFinite(t) && Math.abs(t) < 8.64e15 ? new Date(t).toISOString().slice(0, 16).replace("T", " ") : "";
  }

  /* What the page says about the witnesses of a verified reply (result.witnesses of
   * GongxinVerify.verifyReply): {met, zh, en, times} — `zh`/`en` name who cosigned ("由
   * 审计局、居民监督委员会 见证 · witnessed by …") or, when the quorum is not met, what is
   * missing (未获足够见证 …). */
  function witnessText(w) {
    var who = w.signed.map(function (s) { return s.name; });
    var times = w.signed.map(function (s) { return s.name + " " + chinaTime(s.time); }).join(" · ");
    if (w.met) {
      return {
        met: true, times: times,
        zh: who.length ? "由 " + who.join("、") + " 见证" : "本账本未要求见证",
        en: who.length ? "witnessed by " + who.join(", ") : "no witnesses required",
      };
    }
    var need = w.required.needed === null ? "" : " " + w.required.needed + " 个";
    return {
      met: false, times: times,
      zh: "未获足够见证：需要 " + w.required.names.join("、") + " 中" + need + "副署，现有 " +
        (who.length ? who.join("、") : "无") + "。",
      en: "Not enough witnesses: " + (w.required.needed === null ? "" : w.required.needed + " of ") +
        w.required.names.join(", ") + " must cosign; cosigned by " + (who.length ? who.join(", ") : "none") + ".",
    };
  }

  /* The witness line under the mark (hidden without a witness policy). */
  function renderWitnesses(dom, text) {
    if (!text) { dom.witnesses.hidden = true; dom.witnesses.textContent = ""; return; }
    setBilingual(dom.witnesses, text.zh, text.en + (text.times ? " — " + "副署时间 cosigned at (UTC+8): " + text.times : ""));
    dom.witnesses.hidden = false;
  }

  /* The mark for a verifyReply result: ok (with the quorum of witnesses when the page has a
   * policy), warn (log signature and records verified, the quorum not met: the figures are
   * still shown) or fail. */
  function renderVerification(dom, result) {
    var w = result.ok && result.witnesses ? witnessText(result.witnesses) : null;
    renderWitnesses(dom, w);
    if (result.ok && (!w || w.met)) {
      renderMark(dom, "ok", "已验证 ✓ Verified",
        "本机已核对账本签名（指纹 " + result.keyIdHex + "）和全部 " + result.count +
        " 条记录：均在共 " + result.size + " 条的公开账本中，未被改动，余额相符。" +
        " Checked on this phone: signed log, " + result.count + " records included unaltered, balance adds up.");
    } else if (result.ok) {
      renderMark(dom, "warn", "未获足够见证 ⚠ Not enough witnesses",
        "本机已核对账本签名和全部 " + result.count + " 条记录，但独立见证者的副署不足，" +
        "尚不能确认账本向所有人展示的是同一份记录；请稍后再查。 The log signature and the " +
        result.count + " records check out, but too few independent witnesses cosigned: " +
        "the log may be showing you a different history from others. Look again later.");
    } else {
      renderMark(dom, "fail", "验证失败 ✗ " + result.zh,
        "请勿以本页数字为准，并告知社区工作人员。 Verification failed (" + result.en +
        "): do not rely on these figures; please tell your community office.");
    }
  }

  // ------------------------------------------------------------------ wiring

  function pinnedKey() {
    var meta = document.querySelector('meta[name="gongxin-log-key"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  /* The witness policy pinned in the page (JSON text), "" for none. */
  function pinnedPolicy() {
    var meta = document.querySelector('meta[name="gongxin-witness-policy"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  /* Look up `code`, render the reply, then verify it and set the mark. */
  function lookup(dom, code, fragment) {
    showMessage(dom, null);
    dom.result.hidden = true;
    renderMark(dom, "pending", "正在验证…", "Verifying…");
    dom.submit.disabled = true;
    var status = 0, retryAfter = null;
    return fetch("/v1/residents/lookup", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ code: code }),
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (resp) {
      status = resp.status;
      retryAfter = resp.headers.get("Retry-After");
      return resp.json().catch(function () { return null; });
    }).then(function (body) {
      if (status !== 200 || !body) {
        showMessage(dom, problemMessage(status, body, retryAfter));
        return;
      }
      renderReply(dom, body);
      dom.result.hidden = false;
      renderVerification(dom, root.GongxinVerify.verifyReply(body, pinnedKey(), fragment.keyId, pinnedPolicy()));
    }, function () {
      showMessage(dom, { zh: "无法连接服务器，请检查网络后重试。", en: "Cannot reach the server. Check the network and try again." });
    }).then(function () { dom.submit.disabled = false; });
  }

  /* Once the fragment is read, take the code out of the address bar and of this history
   * entry (replaceState: no new entry), keeping only the key id, so that the code is not
   * left on screen, in the back/forward list or in a bookmark of the page. */
  function forgetCode(fragment) {
    if (!fragment.code || !root.history || !root.history.replaceState) return;
    var keep = fragment.keyId && fragment.keyIdValid ? "#k=" + fragment.keyId : "";
    root.history.replaceState(root.history.state, "", location.pathname + location.search + keep);
  }

  function start() {
    var $ = function (id) { return document.getElementById(id); };
    var dom = {
      form: $("lookup"), input: $("code"), submit: $("submit"), message: $("message"),
      result: $("result"), mark: $("mark"), markTitle: $("mark-title"), markDetail: $("mark-detail"),
      balance: $("balance"), lots: $("lots"), lotsBody: $("lots").tBodies[0], lotsEmpty: $("lots-empty"),
      history: $("history"), historyEmpty: $("history-empty"), keyid: $("keyid"),
      witnesses: $("witnesses"),
    };
    var fragment = parseFragment(location.hash);
    forgetCode(fragment);
    try {
      dom.keyid.textContent = root.GongxinVerify.parseVerifierKey(pinnedKey()).keyIdHex;
    } catch (e) {
      dom.keyid.textContent = "（无效 invalid）";
    }
    dom.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var code = normalizeCode(dom.input.value);
      if (!code) {
        showMessage(dom, isRetiredCode(dom.input.value) ? RETIRED_MESSAGE
          : { zh: "查询码应为 13 位字母或数字。", en: "A lookup code has 13 letters and digits." });
        return;
      }
      lookup(dom, code, fragment);
    });
    if (!fragment.keyIdValid) {
      showMessage(dom, { zh: "二维码中的公钥指纹格式错误。", en: "The key id in the QR code is malformed." });
    } else if (fragment.code) {
      dom.input.value = fragment.code;
      var code = normalizeCode(fragment.code);
      if (code) lookup(dom, code, fragment);
    }
  }

  root.GongxinCredits = {
    normalizeCode: normalizeCode,
    isRetiredCode: isRetiredCode,
    parseFragment: parseFragment,
    problemMessage: problemMessage,
    itemLabel: itemLabel,
    chinaDate: chinaDate,
    signed: signed,
    chinaTime: chinaTime,
    witnessText: witnessText,
  };
  if (typeof document !== "undefined" && document.getElementById("lookup")) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})(typeof self !== "undefined" ? self : this);
