/* Pure verification functions of the residents' page (/credits). No DOM, no network.
 *
 * What the page checks, in the browser, with only the log key built into the page:
 *  - C2SP signed note: the checkpoint's Ed25519 signature by the pinned log key
 *    (FORMAT.md §6; Python reference: verifier/note.py, verifier/checkpoint.py);
 *  - RFC 6962 leaf hashes of the entry lines (FORMAT.md §4, §5.1);
 *  - RFC 9162 §2.1.3.2 inclusion proofs against the signed root (verifier/merkle.py);
 *  - that the balance shown adds up from those records and equals the sum of the lots.
 *
 *  - with a witness policy, the witnesses' cosignatures and the quorum (cosign.js).
 *
 * Needs self.GongxinSHA256 (sha256.js) and self.nacl (vendor/nacl-fast.min.js), and
 * self.GongxinCosign (cosign.js) only when a witness policy is given.
 * Exposes self.GongxinVerify. Every checking function throws a VerifyError carrying a
 * Chinese and an English reason; verifyReply turns the whole reply into one result.
 */
(function (root) {
  "use strict";

  var sha256 = function (bytes) { return root.GongxinSHA256.digest(bytes); };
  var HASH_SIZE = 32, KEY_ID_SIZE = 4, MAX_SIGNATURES = 100;
  var DASH = "\u2014 "; // EM DASH and a space: the start of every signature line
  var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  /* A failed check: zh and en say what failed, for the red mark. */
  function VerifyError(zh, en) {
    this.name = "VerifyError";
    this.zh = zh;
    this.en = en;
    this.message = en;
  }
  VerifyError.prototype = Object.create(Error.prototype);
  VerifyError.prototype.constructor = VerifyError;

  function fail(zh, en) { throw new VerifyError(zh, en); }

  // ------------------------------------------------------------------ encodings

  /* UTF-8 bytes of `text`; null if it has a lone surrogate (not valid Unicode). */
  function utf8(text) {
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
      return null;
    }
    return new TextEncoder().encode(text);
  }

  /* Standard padded base64 (RFC 4648 §4) to bytes, as Go's StdEncoding decodes it: the
   * alphabet and the padding are checked, no whitespace; null when malformed. */
  function b64decode(text) {
    if (typeof text !== "string" || text.length % 4 !== 0) return null;
    var pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
    var body = text.slice(0, text.length - pad);
    var out = new Uint8Array((text.length / 4) * 3 - pad);
    var acc = 0, bits = 0, o = 0;
    for (var i = 0; i < body.length; i++) {
      var v = B64.indexOf(body.charAt(i));
      if (v < 0) return null; // also rejects '=' inside the text
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = (acc >> bits) & 0xff;
      }
    }
    return o === out.length ? out : null;
  }

  /* Bytes to standard padded base64. */
  function b64encode(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i += 3) {
      var n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
      s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
      s += i + 2 < bytes.length ? B64[n & 63] : "=";
    }
    return s;
  }

  /* Bytes to lower-case hex. */
  function hex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return s;
  }

  /* Whether two byte arrays are equal (lengths and contents). */
  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    var diff = 0;
    for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  function concat(parts) {
    var n = 0, i;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n), o = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], o); o += parts[i].length; }
    return out;
  }

  // ------------------------------------------------------------------ keys (FORMAT.md §1)

  /* Signed-note key names: non-empty, no '+', no Unicode space, no control character. */
  function validName(name) {
    return name.length > 0 && name.indexOf("+") < 0 && !/[\s\u0085\x00-\x1f\x7f]/.test(name);
  }

  /* Parse and check a verifier key string `name+keyid+base64(0x01 ‖ key)`: valid name,
   * 8 hex digit key id, canonical base64 of 33 bytes starting with 0x01, and the key id
   * equal to SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]. Returns {name, keyId, keyIdHex,
   * publicKey}. */
  function parseVerifierKey(text) {
    var bad = function (why) { fail("账本公钥格式错误：" + why, "bad log key: " + why); };
    if (typeof text !== "string" || !text) bad("missing");
    var a = text.indexOf("+"), b = a < 0 ? -1 : text.indexOf("+", a + 1);
    if (b < 0) bad("not name+keyid+key");
    var name = text.slice(0, a), idHex = text.slice(a + 1, b), key64 = text.slice(b + 1);
    if (!validName(name)) bad("key name");
    if (!/^[0-9a-fA-F]{8}$/.test(idHex)) bad("key id");
    var raw = b64decode(key64);
    if (!raw || b64encode(raw) !== key64 || raw.length !== 33 || raw[0] !== 0x01) bad("key");
    var publicKey = raw.subarray(1);
    var nameBytes = utf8(name);
    if (!nameBytes) bad("key name");
    var keyId = sha256(concat([nameBytes, new Uint8Array([0x0a, 0x01]), publicKey])).subarray(0, 4);
    if (hex(keyId) !== idHex.toLowerCase()) bad("key id does not match the key");
    return { name: name, keyId: keyId, keyIdHex: hex(keyId), publicKey: publicKey };
  }

  // ------------------------------------------------------------------ signed notes (§6)

  /* Split a C2SP signed note, as verifier/note.py does: no control character but '\n';
   * split at the LAST "\n\n" (text = up to and including the first of those newlines);
   * signature lines "— name base64(keyid4 ‖ sig)" with a valid name and at least 5 bytes.
   * Returns {text, lines: [{name, keyId (4 bytes), sig (the rest)}]}; throws for a
   * malformed note. Nothing is verified here. */
  function splitNote(note) {
    var bad = function (why) { fail("检查点格式错误", "malformed checkpoint note: " + why); };
    if (typeof note !== "string") bad("not text");
    if (!utf8(note)) bad("not valid Unicode");
    if (/[\x00-\x09\x0b-\x1f]/.test(note)) bad("control character");
    var split = note.lastIndexOf("\n\n");
    if (split < 0) bad("no empty line before the signatures");
    var text = note.slice(0, split + 1), block = note.slice(split + 2);
    if (!block) bad("no signature lines");
    if (block.charAt(block.length - 1) !== "\n") bad("signature block does not end in a newline");
    var raw = block.slice(0, -1).split("\n"), lines = [];
    if (raw.length > MAX_SIGNATURES) bad("too many signature lines");
    for (var i = 0; i < raw.length; i++) {
      var line = raw[i];
      if (line.indexOf(DASH) !== 0) bad("signature line " + (i + 1) + " does not start with '— '");
      var rest = line.slice(DASH.length), sp = rest.indexOf(" ");
      var name = sp < 0 ? rest : rest.slice(0, sp), sig64 = sp < 0 ? "" : rest.slice(sp + 1);
      if (!validName(name)) bad("signature line " + (i + 1) + " key name");
      var blob = b64decode(sig64);
      if (!blob || blob.length < KEY_ID_SIZE + 1) bad("signature line " + (i + 1) + " base64");
      lines.push({ name: name, keyId: blob.subarray(0, KEY_ID_SIZE), sig: blob.subarray(KEY_ID_SIZE) });
    }
    return { text: text, lines: lines };
  }

  /* Open a C2SP signed note with one known key (splitNote): lines by other keys are
   * ignored; the known key's signature must verify over the text bytes (a failing one
   * rejects the note); no line by the known key rejects the note. Returns the text. */
  function openNote(note, key) {
    var parts = splitNote(note), text = parts.text, found = false;
    for (var i = 0; i < parts.lines.length; i++) {
      var line = parts.lines[i];
      if (line.name !== key.name || !equalBytes(line.keyId, key.keyId)) continue;
      var ok = line.sig.length === 64 && root.nacl.sign.detached.verify(utf8(text), line.sig, key.publicKey);
      if (!ok) fail("检查点签名无效", "the checkpoint signature does not verify");
      found = true;
    }
    if (!found) fail("检查点没有本账本公钥的签名", "the checkpoint is not signed by the log key");
    return text;
  }

  /* Parse checkpoint text strictly (verifier/checkpoint.py): origin line, decimal size
   * without sign or leading zeros, canonical base64 of a 32-byte root, then optional
   * non-empty extension lines. Sizes above 2^53 - 1 are refused (JavaScript numbers). */
  function parseCheckpoint(text) {
    var bad = function (why) { fail("检查点格式错误", "malformed checkpoint: " + why); };
    if (text.charAt(text.length - 1) !== "\n") bad("no final newline");
    var lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) bad("fewer than three lines");
    if (!validName(lines[0])) bad("origin");
    if (!/^(0|[1-9][0-9]{0,15})$/.test(lines[1])) bad("tree size");
    var size = Number(lines[1]);
    if (!Number.isSafeInteger(size)) bad("tree size too large");
    var rootHash = b64decode(lines[2]);
    if (!rootHash || rootHash.length !== HASH_SIZE || b64encode(rootHash) !== lines[2]) bad("root hash");
    for (var i = 3; i < lines.length; i++) if (!lines[i]) bad("empty extension line");
    return { origin: lines[0], size: size, root: rootHash };
  }

  /* Open the signed checkpoint with the pinned key and parse it; the origin must equal the
   * key name (FORMAT.md §6). */
  function openCheckpoint(note, key) {
    var cp = parseCheckpoint(openNote(note, key));
    if (cp.origin !== key.name) fail("检查点来源与账本公钥不符", "checkpoint origin differs from the key name");
    return cp;
  }

  // ------------------------------------------------------------------ Merkle tree (§5)

  /* RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ data). */
  function leafHash(data) { return sha256(concat([new Uint8Array([0]), data])); }

  /* RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
  function nodeHash(left, right) { return sha256(concat([new Uint8Array([1]), left, right])); }

  /* RFC 9162 §2.1.3.2: the root an inclusion proof yields for `leaf` (32 bytes) at `index`
   * in a tree of `size` leaves; throws if index >= size, a hash is not 32 bytes, or the
   * proof is too long or too short. Integers must be safe (< 2^53); the bit operations
   * are done with arithmetic so sizes above 2^31 work. */
  function rootFromInclusion(leaf, index, size, proof) {
    var bad = function (why) { fail("包含证明不成立", "inclusion proof: " + why); };
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
      bad("leaf index " + index + " not below tree size " + size);
    }
    if (!leaf || leaf.length !== HASH_SIZE) bad("leaf hash is not 32 bytes");
    for (var i = 0; i < proof.length; i++) {
      if (!proof[i] || proof[i].length !== HASH_SIZE) bad("proof element " + i + " is not 32 bytes");
    }
    var fn = index, sn = size - 1, r = leaf;
    for (var j = 0; j < proof.length; j++) {
      if (sn === 0) bad("proof too long");
      if (fn % 2 === 1 || fn === sn) {
        r = nodeHash(proof[j], r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = nodeHash(r, proof[j]);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) bad("proof too short");
    return r;
  }

  /* Check that `leaf` is leaf `index` of the tree of `size` leaves whose root is `rootHash`
   * (RFC 9162 §2.1.3.2 step 5 included); throws a VerifyError otherwise. */
  function verifyInclusion(leaf, index, size, proof, rootHash) {
    if (!rootHash || rootHash.length !== HASH_SIZE) fail("包含证明不成立", "root is not 32 bytes");
    if (!equalBytes(rootFromInclusion(leaf, index, size, proof), rootHash)) {
      fail("包含证明不成立", "inclusion proof: computed root differs from the checkpoint root");
    }
  }

  // ------------------------------------------------------------------ the lookup reply (API §5)

  /* Check one history item against the opened checkpoint `cp`: the entry line's leaf hash
   * equals leaf_hash, the line's index equals item.index (and its kind item.kind), an entry
   * naming residents names this one, and the inclusion proof holds at cp.size / cp.root. */
  function verifyItem(item, cp, residentRef) {
    var n = item && Number.isSafeInteger(item.index) ? item.index : "?";
    var where = "第 " + n + " 条记录", whereEn = "entry " + n;
    var bad = function (zh, en) { fail(where + zh, whereEn + ": " + en); };
    if (!item || typeof item.entry !== "string") bad("缺少账本原文", "missing entry line");
    var data = utf8(item.entry);
    if (!data) bad("的账本原文无效", "entry line is not valid Unicode");
    var leaf = leafHash(data);
    if (typeof item.leaf_hash !== "string" || hex(leaf) !== item.leaf_hash) {
      bad("的内容与哈希不符", "entry does not match its leaf hash");
    }
    var entry;
    try { entry = JSON.parse(item.entry); } catch (e) { bad("的账本原文无法解析", "entry line is not JSON"); }
    if (!entry || entry.index !== item.index) bad("的序号与账本原文不符", "index differs from the entry line");
    var st = entry.statement || {}, body = st.body || {};
    if (item.kind !== undefined && st.kind !== item.kind) bad("的类型与账本原文不符", "kind differs from the entry line");
    var refs = [body.resident_ref, body.from_ref, body.to_ref].filter(function (r) { return r !== undefined; });
    if (refs.length && refs.indexOf(residentRef) < 0) bad("不属于本居民", "entry names another resident");
    if (!Array.isArray(item.inclusion_path)) bad("缺少包含证明", "missing inclusion proof");
    var proof = item.inclusion_path.map(b64decode);
    try {
      verifyInclusion(leaf, item.index, cp.size, proof, cp.root);
    } catch (e) {
      if (e instanceof VerifyError) bad("的包含证明不成立", e.en);
      throw e;
    }
  }

  /* Check the figures shown against the verified records (consistency, not cryptography:
   * the points of each record follow from the policy, which the page does not replay):
   * records in increasing log order, each balance_after = previous + change_points, the
   * balance = the last balance_after (0 without records) = the sum of the lots. */
  function verifyFigures(reply) {
    var bad = function () { fail("余额与记录不符", "the balance does not add up from the records"); };
    var balance = 0, last = -1, history = reply.history;
    for (var i = 0; i < history.length; i++) {
      var item = history[i];
      if (!(item.index > last) || !Number.isSafeInteger(item.change_points)) bad();
      balance += item.change_points;
      if (item.balance_after !== balance) bad();
      last = item.index;
    }
    if (reply.balance_points !== balance || !Array.isArray(reply.lots)) bad();
    var lots = 0;
    for (var j = 0; j < reply.lots.length; j++) lots += reply.lots[j].points;
    if (lots !== balance) bad();
  }

  /* Verify a whole /v1/residents/lookup reply with the key pinned in the page.
   * `pinned`: the key string from the page's meta tag; `expectKeyId`: 8 hex digits from
   * the URL fragment (k=…) or ""; `policy`: the witness policy pinned in the page (JSON
   * text or object, cosign.js) or ""/undefined for none. Returns {ok: true, keyIdHex,
   * size, count} — with a policy also `witnesses` ({met, signed: [{name, time}],
   * required}, GongxinCosign.checkCosignatures; an unmet quorum is not a failure, the page
   * warns) — or {ok: false, keyIdHex, zh, en} (a bad cosignature by a listed witness is a
   * failure). Never throws for bad data. */
  function verifyReply(reply, pinned, expectKeyId, policy) {
    var keyIdHex = "";
    try {
      var key = parseVerifierKey(pinned);
      keyIdHex = key.keyIdHex;
      if (expectKeyId && expectKeyId.toLowerCase() !== key.keyIdHex) {
        fail("本页公钥指纹与二维码上的不符", "the page's key id differs from the QR code's");
      }
      if (!reply || reply.log_key !== pinned) fail("服务器给出的账本公钥与本页不符", "the reply's log key differs from the page's");
      var cp = openCheckpoint(reply.checkpoint, key);
      if (reply.tree_size !== cp.size) fail("账本大小与检查点不符", "tree_size differs from the checkpoint");
      var history = reply.history;
      if (!Array.isArray(history)) fail("缺少记录", "missing history");
      for (var i = 0; i < history.length; i++) verifyItem(history[i], cp, reply.resident_ref);
      verifyFigures(reply);
      var result = { ok: true, keyIdHex: keyIdHex, size: cp.size, count: history.length };
      if (policy) result.witnesses = root.GongxinCosign.checkCosignatures(reply.checkpoint, policy);
      return result;
    } catch (e) {
      if (e instanceof VerifyError) return { ok: false, keyIdHex: keyIdHex, zh: e.zh, en: e.en };
      return { ok: false, keyIdHex: keyIdHex, zh: "验证出错", en: "verification error: " + e };
    }
  }

  root.GongxinVerify = {
    VerifyError: VerifyError,
    utf8: utf8,
    b64decode: b64decode,
    b64encode: b64encode,
    hex: hex,
    parseVerifierKey: parseVerifierKey,
    fail: fail,
    concat: concat,
    equalBytes: equalBytes,
    validName: validName,
    splitNote: splitNote,
    openNote: openNote,
    parseCheckpoint: parseCheckpoint,
    openCheckpoint: openCheckpoint,
    leafHash: leafHash,
    nodeHash: nodeHash,
    rootFromInclusion: rootFromInclusion,
    verifyInclusion: verifyInclusion,
    verifyItem: verifyItem,
    verifyFigures: verifyFigures,
    verifyReply: verifyReply,
  };
})(typeof self !== "undefined" ? self : this);
