/* Witness cosignatures on the residents' page (/credits). No DOM, no network.
 *
 * C2SP tlog-cosignature v1 (FORMAT.md §14; Python reference: verifier/witness/
 * cosignature.py and policy.py): a witness key `name+keyid+base64(0x04 ‖ key)` has the key
 * id SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4]; its signature line in the checkpoint note
 * carries keyid ‖ 8-byte big-endian timestamp ‖ Ed25519 signature over
 * "cosignature/v1\ntime <timestamp>\n" ‖ checkpoint text. The witness policy (pinned in the
 * page by the server, api/credits_page.py policy_json) names the witnesses and the quorum:
 * {witnesses: [{name, key}], groups: [{name, threshold, members}], quorum: name | null}.
 *
 * Needs self.GongxinVerify (verify.js), self.GongxinSHA256 and self.nacl. Exposes
 * self.GongxinCosign. Failures throw GongxinVerify.VerifyError (zh and en reasons).
 */
(function (root) {
  "use strict";

  var V = root.GongxinVerify;
  var COSIGNATURE_TYPE = 0x04, TIMESTAMP_SIZE = 8, SIGNATURE_SIZE = 64;
  var MAX_WITNESSES = 100;

  /* Parse and check a witness key string `name+keyid+base64(0x04 ‖ key)` (as
   * parse_witness_key): valid name, 8 hex digits, canonical base64 of 33 bytes starting
   * with 0x04, key id matching. Returns {name, keyId, keyIdHex, publicKey}. */
  function parseWitnessKey(text) {
    var bad = function (why) { V.fail("见证公钥格式错误：" + why, "bad witness key: " + why); };
    if (typeof text !== "string" || !text) bad("missing");
    var a = text.indexOf("+"), b = a < 0 ? -1 : text.indexOf("+", a + 1);
    if (b < 0) bad("not name+keyid+key");
    var name = text.slice(0, a), idHex = text.slice(a + 1, b), key64 = text.slice(b + 1);
    if (!V.validName(name)) bad("key name");
    if (!/^[0-9a-fA-F]{8}$/.test(idHex)) bad("key id");
    var raw = V.b64decode(key64);
    if (!raw || V.b64encode(raw) !== key64 || raw.length !== 33 || raw[0] !== COSIGNATURE_TYPE) bad("key");
    var publicKey = raw.subarray(1);
    var keyId = root.GongxinSHA256.digest(
      V.concat([V.utf8(name), new Uint8Array([0x0a, COSIGNATURE_TYPE]), publicKey])).subarray(0, 4);
    if (V.hex(keyId) !== idHex.toLowerCase()) bad("key id does not match the key");
    return { name: name, keyId: keyId, keyIdHex: V.hex(keyId), publicKey: publicKey };
  }

  /* The policy pinned in the page (JSON text or an object) checked and indexed:
   * {witnesses: [{name, key}], groups: {name: {threshold, members}}, quorum}. Names are
   * unique, group members and the quorum are defined, thresholds are 1..members. */
  function parsePolicy(policy) {
    var bad = function (why) { V.fail("见证策略格式错误：" + why, "bad witness policy: " + why); };
    var doc = policy;
    if (typeof policy === "string") {
      try { doc = JSON.parse(policy); } catch (e) { bad("not JSON"); }
    }
    if (!doc || !Array.isArray(doc.witnesses) || !Array.isArray(doc.groups)) bad("shape");
    if (doc.witnesses.length > MAX_WITNESSES) bad("too many witnesses");
    var names = Object.create(null), witnesses = [], groups = Object.create(null);
    doc.witnesses.forEach(function (w) {
      if (!w || typeof w.name !== "string" || !w.name || names[w.name]) bad("witness name");
      names[w.name] = true;
      witnesses.push({ name: w.name, key: parseWitnessKey(w.key) });
    });
    doc.groups.forEach(function (g) {
      if (!g || typeof g.name !== "string" || !g.name || names[g.name] || !Array.isArray(g.members)) bad("group");
      g.members.forEach(function (m) { if (!names[m]) bad("group member " + m); });
      if (!Number.isSafeInteger(g.threshold) || g.threshold < 1 || g.threshold > g.members.length) bad("threshold");
      names[g.name] = true;
      groups[g.name] = { threshold: g.threshold, members: g.members.slice() };
    });
    var quorum = doc.quorum === undefined ? null : doc.quorum;
    if (quorum !== null && !names[quorum]) bad("quorum");
    return { witnesses: witnesses, groups: groups, quorum: quorum };
  }

  /* Whether the witnesses named in `signed` (a set: {name: true}) satisfy `target` (a
   * witness or group name; null: nothing required), as WitnessPolicy.satisfied_by. */
  function satisfied(p, signed, target) {
    if (target === null) return true;
    var group = p.groups[target];
    if (!group) return !!signed[target];
    var met = 0;
    for (var i = 0; i < group.members.length; i++) if (satisfied(p, signed, group.members[i])) met++;
    return met >= group.threshold;
  }

  /* The witnesses the quorum draws on, in policy order, and how many are needed when the
   * quorum is one group of witnesses ("2 of 审计局, 居民监督委员会"); `needed` is null for
   * nested groups. */
  function required(p) {
    if (p.quorum === null) return { names: [], needed: 0 };
    var group = p.groups[p.quorum];
    if (!group) return { names: [p.quorum], needed: 1 };
    var flat = [], nested = false;
    (function walk(members) {
      members.forEach(function (m) {
        if (p.groups[m]) { nested = true; walk(p.groups[m].members); }
        else if (flat.indexOf(m) < 0) flat.push(m);
      });
    })(group.members);
    return { names: flat, needed: nested ? null : group.threshold };
  }

  /* The decimal text of an unsigned 64-bit big-endian integer (8 bytes). */
  function decimal64(bytes) {
    var n = BigInt(0);
    for (var i = 0; i < 8; i++) n = n * BigInt(256) + BigInt(bytes[i]);
    return n.toString();
  }

  /* Verify one cosignature (timestamp ‖ signature, 72 bytes) by `key` over the checkpoint
   * `text`; returns the timestamp in seconds (a Number) or null if it does not verify. */
  function verifyCosignature(key, text, blob) {
    if (blob.length !== TIMESTAMP_SIZE + SIGNATURE_SIZE || blob[0] >= 0x80) return null;
    var ts = decimal64(blob.subarray(0, TIMESTAMP_SIZE));
    var message = V.utf8("cosignature/v1\ntime " + ts + "\n" + text);
    var ok = root.nacl.sign.detached.verify(message, blob.subarray(TIMESTAMP_SIZE), key.publicKey);
    return ok ? Number(ts) : null;
  }

  /* Check the cosignature lines of checkpoint `note` (already opened with the log key by
   * verify.js) against `policy`: each listed witness's first line must verify (else a
   * VerifyError naming the witness), lines by other keys are ignored. Returns {met: whether
   * the quorum is satisfied, signed: [{name, time (POSIX seconds)}] in policy order,
   * required: {names, needed}}. Cost: one Ed25519 verification per listed witness present. */
  function checkCosignatures(note, policy) {
    var p = parsePolicy(policy), parts = V.splitNote(note), byWitness = Object.create(null);
    p.witnesses.forEach(function (w) {
      for (var i = 0; i < parts.lines.length; i++) {
        var line = parts.lines[i];
        if (line.name !== w.key.name || !V.equalBytes(line.keyId, w.key.keyId)) continue;
        var time = verifyCosignature(w.key, parts.text, line.sig);
        if (time === null) {
          V.fail("见证副署无效（" + w.name + "）", "the cosignature by witness " + w.name + " does not verify");
        }
        byWitness[w.name] = time;
        return; // a witness's repeated lines: the first counts, as verifier/witness does
      }
    });
    var signed = p.witnesses.filter(function (w) { return w.name in byWitness; })
      .map(function (w) { return { name: w.name, time: byWitness[w.name] }; });
    var names = Object.create(null);
    signed.forEach(function (s) { names[s.name] = true; });
    return { met: satisfied(p, names, p.quorum), signed: signed, required: required(p) };
  }

  root.GongxinCosign = {
    parseWitnessKey: parseWitnessKey,
    parsePolicy: parsePolicy,
    checkCosignatures: checkCosignatures,
  };
})(typeof self !== "undefined" ? self : this);
