/* SHA-256 (FIPS 180-4) in plain JavaScript, for the residents' page (/credits).
 *
 * The page must verify over plain http on government intranets, where crypto.subtle is
 * missing (it exists only in secure contexts), so it carries its own hash. Synchronous,
 * no dependencies. Exposes self.GongxinSHA256 = { digest(bytes) -> Uint8Array(32),
 * hex(bytes) -> string }. Input: a Uint8Array (or array of byte values).
 */
(function (root) {
  "use strict";

  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
  ]);

  /* Process the 64-byte blocks of `data` from `offset` to `end` into state `H`. */
  function blocks(H, W, data, offset, end) {
    for (; offset < end; offset += 64) {
      var i, t1, t2;
      for (i = 0; i < 16; i++) {
        var j = offset + 4 * i;
        W[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
      }
      for (i = 16; i < 64; i++) {
        var x = W[i - 15], y = W[i - 2];
        var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
      }
      var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (i = 0; i < 64; i++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var ch = (e & f) ^ (~e & g);
        t1 = (h + S1 + ch + K[i] + W[i]) | 0;
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        var maj = (a & b) ^ (a & c) ^ (b & c);
        t2 = (S0 + maj) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0;
        d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0;
      H[3] = (H[3] + d) | 0; H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0;
      H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
    }
  }

  /* SHA-256 of `input` (Uint8Array): the 32-byte digest. Messages up to 2^53 bits. */
  function digest(input) {
    var data = input instanceof Uint8Array ? input : new Uint8Array(input);
    var H = new Int32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
      0x5be0cd19,
    ]);
    var W = new Int32Array(64);
    var n = data.length, full = n - (n % 64);
    blocks(H, W, data, 0, full);
    // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian integer.
    var rest = n - full, padLen = rest < 56 ? 64 : 128;
    var tail = new Uint8Array(padLen);
    tail.set(data.subarray(full));
    tail[rest] = 0x80;
    var bits = n * 8, hi = Math.floor(bits / 0x100000000), lo = bits >>> 0;
    for (var k = 0; k < 4; k++) {
      tail[padLen - 8 + k] = (hi >>> (24 - 8 * k)) & 0xff;
      tail[padLen - 4 + k] = (lo >>> (24 - 8 * k)) & 0xff;
    }
    blocks(H, W, tail, 0, padLen);
    var out = new Uint8Array(32);
    for (var m = 0; m < 8; m++) {
      out[4 * m] = (H[m] >>> 24) & 0xff;
      out[4 * m + 1] = (H[m] >>> 16) & 0xff;
      out[4 * m + 2] = (H[m] >>> 8) & 0xff;
      out[4 * m + 3] = H[m] & 0xff;
    }
    return out;
  }

  /* SHA-256 of `input` as 64 lower-case hex digits. */
  function hex(input) {
    var d = digest(input), s = "";
    for (var i = 0; i < d.length; i++) s += (d[i] < 16 ? "0" : "") + d[i].toString(16);
    return s;
  }

  root.GongxinSHA256 = { digest: digest, hex: hex };
})(typeof self !== "undefined" ? self : this);
