/* certcli verifier: `certcli verify --qr PAYLOAD --trust trust.pem` in the browser.
 *
 * The same canonical bytes and the same rules as the Python verifier
 * (certcli/documents/qrpayload.py, certcli/pki/trust_bundle*.py, certcli/pki/ledgers.py,
 * certcli/verification/):
 *
 *   CC1:<BASE32(body || r || s)>, body = kind || key_id(8) || len-prefixed fields,
 *   r || s the raw ECDSA P-256/SHA-256 signature (low-S) over "CC1:" + body.
 *
 * The signed trust bundle is checked first (the root's ECDSA signature over its
 * manifest, every certificate's SHA-256 and issuer, the revocation list, the text
 * re-rendered byte for byte); then a payload gets the checks qr_signature, seal_key,
 * issued, certificate_status and annotation_window with the stable reason codes of
 * `certcli verify --json`.  Only WebCrypto (crypto.subtle) and this file: no framework,
 * no network (a closed key's ledger comes from the caller's loader).
 *
 * tests/vectors/verifier_vectors.json drives this file (tests/test_browser.py, in headless
 * Chromium) and the Python verifier (tests/test_verifier_vectors.py) alike.
 *
 * Instants are integer microseconds since the epoch (Numbers: exact to the year 2255).
 */
(function (global) {
  "use strict";

  var PREFIX = "CC1:";
  var MAX_CHARS = 2000;
  var SIG_LEN = 64;
  var KEY_ID_LEN = 8;
  var N = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  var HALF_N = N / BigInt(2);
  var US = 1000000;                       // microseconds per second
  var HOUR = 3600 * US;
  var DAY = 24 * HOUR;
  var ROTATION_GRACE = HOUR;              // certcli.verification.claims.ROTATION_GRACE
  var MAX_WINDOW = 90 * DAY;              // rules.MAX_ANNOTATION_DAYS
  var CST = 8 * HOUR;                     // China Standard Time, UTC+8
  var QR_CHECKS = ["qr_signature", "seal_key", "issued", "certificate_status", "annotation_window"];
  var FORMAT = "certcli-trust-bundle/2";
  var SIGNED_PREFIX = "certcli trust manifest v2\n";
  var MAX_BUNDLE_BYTES = 1 << 20;
  var MAX_CERTIFICATES = 1024;
  var REVOCATION_MAGIC = "CCR1";
  var REVOCATION_ENTRY_BYTES = 8;
  var LEDGER_ENTRY_BYTES = 16;
  var CERT = "CERTIFICATE", REVOKED = "CERTCLI REVOCATION LIST", MANIFEST = "CERTCLI TRUST MANIFEST",
    SIGNATURE = "CERTCLI TRUST SIGNATURE";
  var BLOCKS = [CERT, REVOKED, MANIFEST, SIGNATURE];
  var B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  var OID_EC_SHA256 = "1.2.840.10045.4.3.2";
  var OID_BASIC_CONSTRAINTS = "2.5.29.19";
  var OID_ORGANIZATION = "2.5.4.10";

  var utf8 = new TextEncoder();
  var strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  function subtle() {
    var c = global.crypto;
    if (!c || !c.subtle) {
      throw new VerifierUnavailable();
    }
    return c.subtle;
  }

  function VerifierUnavailable() {
    this.name = "VerifierUnavailable";
    this.message = "WebCrypto (crypto.subtle) is not available: open the page over https or from a file";
  }

  // --------------------------------------------------------------------- bytes

  function concat(parts) {
    var size = 0, i;
    for (i = 0; i < parts.length; i++) size += parts[i].length;
    var out = new Uint8Array(size), at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }

  function hex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function compareBytes(a, b) {
    for (var i = 0; i < a.length && i < b.length; i++) {
      if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    }
    return a.length - b.length;
  }

  function bigint(bytes) {
    return bytes.length ? BigInt("0x" + hex(bytes)) : BigInt(0);
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle().digest("SHA-256", bytes));
  }

  /** Binary search of `entry` in `table`, sorted fixed-width records (ledgers.sorted_contains). */
  function sortedContains(table, entry, width) {
    var low = 0, high = Math.floor(table.length / width);
    while (low < high) {
      var middle = (low + high) >> 1;
      var order = compareBytes(table.subarray(middle * width, (middle + 1) * width), entry);
      if (order < 0) low = middle + 1;
      else if (order > 0) high = middle;
      else return true;
    }
    return false;
  }

  function base64Strict(text) {
    // Python's base64.b64decode(validate=True): the alphabet only, padded to a multiple of 4
    if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error("base64");
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function base64(bytes) {
    var raw = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      raw += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(raw);
  }

  function b32encode(bytes) {
    var out = "", bits = 0, value = 0;
    for (var i = 0; i < bytes.length; i++) {
      value = (value << 8) | bytes[i];
      bits += 8;
      while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5; }
      value &= 0xff;
    }
    if (bits > 0) out += B32[(value << (5 - bits)) & 31];
    return out;
  }

  /** Strict RFC 4648 base32 (uppercase, no padding); null unless it re-encodes to exactly `text`. */
  function b32decode(text) {
    var out = new Uint8Array(Math.floor(text.length * 5 / 8)), bits = 0, value = 0, at = 0;
    for (var i = 0; i < text.length; i++) {
      var digit = B32.indexOf(text[i]);
      if (digit < 0) return null;
      value = ((value << 5) | digit) & 0xfff;
      bits += 5;
      if (bits >= 8) {
        if (at < out.length) out[at++] = (value >>> (bits - 8)) & 0xff;
        bits -= 8;
      }
    }
    return b32encode(out) === text ? out : null;
  }

  // --------------------------------------------------------------------- instants

  function pad(n, width) {
    var s = String(n);
    while (s.length < width) s = "0" + s;
    return s;
  }

  /** ISO 8601 as the bundle writes it (iso_text: "...Z" or an offset), to microseconds. */
  function parseInstant(text) {
    if (text === null || text === undefined || text === "") return null;
    var m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:\d\d)$/.exec(String(text));
    if (!m) throw new Error("instant");
    var ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    if (isNaN(ms)) throw new Error("instant");
    var micro = ms * 1000 + (m[7] ? +(m[7] + "000000").slice(0, 6) : 0);
    if (m[8] !== "Z") {
      var sign = m[8][0] === "-" ? -1 : 1;
      micro -= sign * (+m[8].slice(1, 3) * 60 + +m[8].slice(4, 6)) * 60 * US;
    }
    return micro;
  }

  function cstParts(micro) {
    var shifted = micro + CST;
    var ms = Math.floor(shifted / 1000);
    var d = new Date(ms);
    return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(),
      mi: d.getUTCMinutes(), s: d.getUTCSeconds(), us: ((shifted % US) + US) % US };
  }

  /** certcli.verification.context.cst_text: "2026-03-01 10:00 (UTC+8)". */
  function cstText(micro) {
    if (micro === null || micro === undefined) return "";
    var p = cstParts(micro);
    return pad(p.y, 4) + "-" + pad(p.mo, 2) + "-" + pad(p.d, 2) + " " + pad(p.h, 2) + ":" + pad(p.mi, 2) + " (UTC+8)";
  }

  /** Python's datetime.isoformat() of the instant in CST: "2026-03-01T10:00:07+08:00". */
  function cstIso(micro) {
    if (micro === null || micro === undefined) return null;
    var p = cstParts(micro);
    return pad(p.y, 4) + "-" + pad(p.mo, 2) + "-" + pad(p.d, 2) + "T" + pad(p.h, 2) + ":" + pad(p.mi, 2) + ":" +
      pad(p.s, 2) + (p.us ? "." + pad(p.us, 6) : "") + "+08:00";
  }

  /** rules.valid_through: the last CST day an end (exclusive) leaves usable, ISO date. */
  function validThrough(micro) {
    var p = cstParts(micro - 1);
    return pad(p.y, 4) + "-" + pad(p.mo, 2) + "-" + pad(p.d, 2);
  }

  // --------------------------------------------------------------------- DER

  function tlv(bytes, at) {
    if (at + 2 > bytes.length) throw new Error("der");
    var tag = bytes[at], length = bytes[at + 1], head = 2;
    if (length & 0x80) {
      var count = length & 0x7f;
      if (count < 1 || count > 3 || at + 2 + count > bytes.length) throw new Error("der");
      length = 0;
      for (var i = 0; i < count; i++) length = length * 256 + bytes[at + 2 + i];
      head += count;
    }
    var end = at + head + length;
    if (end > bytes.length) throw new Error("der");
    return { tag: tag, start: at, body: at + head, end: end,
      raw: bytes.subarray(at, end), value: bytes.subarray(at + head, end) };
  }

  function children(bytes, node) {
    var out = [], at = node.body;
    while (at < node.end) {
      var child = tlv(bytes, at);
      out.push(child);
      at = child.end;
    }
    return out;
  }

  function oid(value) {
    var parts = [Math.floor(value[0] / 40), value[0] % 40], n = 0;
    for (var i = 1; i < value.length; i++) {
      n = n * 128 + (value[i] & 0x7f);
      if (!(value[i] & 0x80)) { parts.push(n); n = 0; }
    }
    return parts.join(".");
  }

  function derTime(node) {
    var text = String.fromCharCode.apply(null, node.value), m;
    if (node.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
      var yy = +m[1];
      return Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) * 1000;
    }
    if (node.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
      return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) * 1000;
    }
    throw new Error("time");
  }

  /** What the verifier needs of an X.509 certificate (DER). */
  function parseCertificate(der) {
    var cert = tlv(der, 0);
    if (cert.tag !== 0x30 || cert.end !== der.length) throw new Error("certificate");
    var top = children(der, cert);
    if (top.length !== 3) throw new Error("certificate");
    var tbs = top[0], fields = children(der, tbs), i = 0;
    if (fields[0].tag === 0xa0) i = 1;               // [0] version
    var issuer = fields[i + 2], validity = children(der, fields[i + 3]), subject = fields[i + 4],
      spki = fields[i + 5];
    var extensions = fields.filter(function (f) { return f.tag === 0xa3; })[0];
    var algorithm = oid(children(der, top[1])[0].value);
    var signature = top[2];
    if (signature.tag !== 0x03 || signature.value[0] !== 0) throw new Error("certificate");
    return { der: der, tbs: tbs.raw, issuer: issuer.raw, subject: subject.raw, spki: spki.raw,
      subjectNode: subject, notBefore: derTime(validity[0]), notAfter: derTime(validity[1]),
      algorithm: algorithm, signature: signature.value.subarray(1), extensions: extensions };
  }

  function organization(cert) {
    var der = cert.der, found = "";
    children(der, cert.subjectNode).forEach(function (set) {
      children(der, set).forEach(function (attribute) {
        var parts = children(der, attribute);
        if (!found && oid(parts[0].value) === OID_ORGANIZATION) {
          found = strictUtf8.decode(parts[1].value);
        }
      });
    });
    return found;
  }

  function isCa(cert) {
    if (!cert.extensions) return false;
    var der = cert.der, list = children(der, children(der, cert.extensions)[0]);
    for (var i = 0; i < list.length; i++) {
      var parts = children(der, list[i]);
      if (oid(parts[0].value) !== OID_BASIC_CONSTRAINTS) continue;
      var inner = parts[parts.length - 1].value, seq = tlv(inner, 0);
      var items = children(inner, seq);
      return items.length > 0 && items[0].tag === 0x01 && items[0].value[0] !== 0;
    }
    return false;
  }

  /** DER ECDSA-Sig-Value -> {r, s} BigInts, with `canonical` when it is the one DER encoding. */
  function derSignature(bytes) {
    var seq = tlv(bytes, 0);
    if (seq.tag !== 0x30 || seq.end !== bytes.length) throw new Error("signature");
    var parts = children(bytes, seq);
    if (parts.length !== 2 || parts[0].tag !== 0x02 || parts[1].tag !== 0x02) throw new Error("signature");
    var r = bigint(parts[0].value), s = bigint(parts[1].value);
    var canonical = parts.every(function (p) {
      var v = p.value;
      return v.length > 0 && !(v[0] & 0x80) && !(v.length > 1 && v[0] === 0 && !(v[1] & 0x80));
    }) && bytes[1] < 0x80;   // short-form length: a P-256 signature is at most 72 bytes
    return { r: r, s: s, canonical: canonical };
  }

  function p1363(r, s) {
    var out = new Uint8Array(64);
    [r, s].forEach(function (n, i) {
      var h = n.toString(16);
      if (h.length > 64) throw new Error("signature");
      h = pad(h, 64);
      for (var j = 0; j < 32; j++) out[i * 32 + j] = parseInt(h.substr(j * 2, 2), 16);
    });
    return out;
  }

  async function importKey(spki) {
    return subtle().importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  }

  async function ecdsaVerify(key, rawSignature, data) {
    return subtle().verify({ name: "ECDSA", hash: "SHA-256" }, key, rawSignature, data);
  }

  async function issuedBy(cert, issuer, issuerKey) {
    if (!equalBytes(cert.issuer, issuer.subject) || cert.algorithm !== OID_EC_SHA256) return false;
    try {
      var sig = derSignature(cert.signature);
      return await ecdsaVerify(issuerKey, p1363(sig.r, sig.s), cert.tbs);
    } catch (e) {
      return false;
    }
  }

  // --------------------------------------------------------------------- the trust bundle

  function BundleError(reason, detail) {
    this.name = "BundleError";
    this.code = "bad_trust_bundle";
    this.reason = "bundle_" + reason;
    this.detail = detail || null;
    this.message = this.reason + (detail ? " (" + detail + ")" : "");
  }

  function pyStr(value) {           // Python's f"{value}"
    if (value === null || value === undefined) return "None";
    if (value === true) return "True";
    if (value === false) return "False";
    return String(value);
  }

  function oneLine(value) {
    return pyStr(value).split(/\s+/).filter(Boolean).join(" ");
  }

  /** Python's json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":")). */
  function canonical(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    return "{" + Object.keys(value).sort().map(function (k) {
      return JSON.stringify(k) + ":" + canonical(value[k]);
    }).join(",") + "}";
  }

  function pemLines(kind, der) {
    var text = base64(der), lines = ["-----BEGIN " + kind + "-----"];
    for (var i = 0; i < text.length; i += 64) lines.push(text.slice(i, i + 64));
    lines.push("-----END " + kind + "-----");
    return lines;
  }

  /** trust_bundle_format.render_bundle: the whole file from what the signature authenticates. */
  function render(manifest, manifestBytes, certificates, revoked, signature) {
    var root = manifest.root;
    var lines = ["# certcli trust bundle: the issuer root, its seal keys and their history, the qualifications",
      "# each seal may sign and the revocation list, signed by the root (CERTCLI TRUST SIGNATURE).",
      "# Verifiers refuse it if anything in it is edited.  It tells the status as of issued_at;",
      "# fetch a new one by next_update.",
      "# issuer: " + oneLine(root.name),
      "# root key_id: " + pyStr(root.key_id),
      "# issued_at: " + pyStr(manifest.issued_at),
      "# next_update: " + pyStr(manifest.next_update),
      "# revoked certificates: " + pyStr(manifest.revocation.count)].concat(pemLines(CERT, certificates[0]));
    manifest.seals.forEach(function (seal, i) {
      lines.push("# seal_id: " + pyStr(seal.seal_id), "# name: " + oneLine(seal.name), "# key_id: " + pyStr(seal.key_id),
        "# status: " + pyStr(seal.status), "# validity: " + pyStr(seal.not_before) + " .. " + pyStr(seal.not_after));
      if (seal.rotated_at) lines.push("# rotated_at: " + pyStr(seal.rotated_at));
      if (seal.compromised_at) {
        lines.push("# retired_at: " + pyStr(seal.compromised_at) +
          " (compromised: signatures from then on are NOT valid)");
      }
      lines.push("# qualifications: " + (seal.qualifications.map(function (q) {
        if (typeof q !== "string") throw new TypeError("qualification");
        return q;
      }).join(" ") || "(none)"));
      if (seal.ledger) {
        lines.push("# ledger: " + pyStr(seal.ledger.count) + " documents, sha256 " + pyStr(seal.ledger.sha256) +
          " (file " + pyStr(seal.key_id) + ".bin): nothing else it signed is valid");
      }
      lines = lines.concat(pemLines(CERT, certificates[i + 1]));
    });
    lines = lines.concat(pemLines(REVOKED, concat([utf8.encode(REVOCATION_MAGIC), revoked])),
      pemLines(MANIFEST, manifestBytes), pemLines(SIGNATURE, signature));
    return lines.join("\n") + "\n";
  }

  function blocks(text) {
    var found = [], current = null, kind = "", lines = text.split("\n");
    for (var n = 0; n < lines.length; n++) {
      var line = lines[n], number = n + 1;
      if (current === null) {
        if (line.indexOf("-----BEGIN ") === 0 && line.length >= 16 && line.slice(-5) === "-----") {
          kind = line.slice(11, -5);
          if (BLOCKS.indexOf(kind) < 0) throw new BundleError("unexpected_block", "line " + number + ": " + kind.slice(0, 40));
          current = [];
        } else if (line.trim() && line[0] !== "#") {
          throw new BundleError("unexpected_line", "line " + number);
        }
      } else if (line === "-----END " + kind + "-----") {
        found.push([kind, current]);
        current = null;
        if (found.length > MAX_CERTIFICATES + 3) throw new BundleError("too_many_blocks");
      } else if (line.indexOf("-----") === 0) {
        throw new BundleError("unterminated_block", "line " + number);
      } else {
        current.push(line);
      }
    }
    if (current !== null) throw new BundleError("unterminated_block", "end of file");
    return found;
  }

  function decode64(lines, what) {
    try {
      return base64Strict(lines.join(""));
    } catch (e) {
      throw new BundleError("bad_encoding", what);
    }
  }

  function certificateOf(der, detail) {
    try {
      return parseCertificate(der);
    } catch (e) {
      throw new BundleError("bad_certificate", detail);
    }
  }

  /**
   * Check and read a bundle made by `certcli admin trust` (trust_bundle.parse_trust_bundle).
   * Resolves to the bundle; rejects with a BundleError naming what was wrong.
   */
  async function parseBundle(text) {
    if (typeof text !== "string") throw new BundleError("empty");
    var size = utf8.encode(text).length;
    if (size > MAX_BUNDLE_BYTES) throw new BundleError("too_large");
    if (text.indexOf("PRIVATE KEY") >= 0) throw new BundleError("contains_private_key");
    text = text.split("\r\n").join("\n");
    var found = blocks(text), kinds = found.map(function (b) { return b[0]; });
    function count(kind) { return kinds.filter(function (k) { return k === kind; }).length; }
    if (kinds.indexOf(MANIFEST) < 0 || kinds.indexOf(SIGNATURE) < 0) {
      throw new BundleError(kinds.indexOf(CERT) >= 0 ? "unsigned" : "empty");
    }
    if (count(MANIFEST) !== 1 || count(SIGNATURE) !== 1 || count(REVOKED) !== 1 || kinds[0] !== CERT) {
      throw new BundleError("bad_layout");
    }
    var body = {};
    found.forEach(function (b) { if (b[0] !== CERT) body[b[0]] = b[1]; });
    var certificates = found.filter(function (b) { return b[0] === CERT; })
      .map(function (b) { return decode64(b[1], "certificate"); });
    var manifestBytes = decode64(body[MANIFEST], "manifest");
    var signature = decode64(body[SIGNATURE], "signature");
    var root = certificateOf(certificates[0], "root");
    var rootKey;
    try {
      rootKey = await importKey(root.spki);
    } catch (e) {
      throw new BundleError("signature_invalid");
    }
    var signed = false;
    try {
      var sig = derSignature(signature);
      signed = sig.canonical && sig.s > BigInt(0) && sig.s <= HALF_N &&
        await ecdsaVerify(rootKey, p1363(sig.r, sig.s), concat([utf8.encode(SIGNED_PREFIX), manifestBytes]));
    } catch (e) {
      signed = false;
    }
    if (!signed) throw new BundleError("signature_invalid");
    // From here on the manifest is the root's word; everything else must match it.
    var manifest, bundle;
    try {
      var manifestText = strictUtf8.decode(manifestBytes);
      manifest = JSON.parse(manifestText);
      if (!manifest || typeof manifest !== "object" || Array.isArray(manifest) || manifest.format !== FORMAT ||
          canonical(manifest) !== manifestText) {
        throw new Error("format");
      }
      bundle = await read(manifest, certificates, root, rootKey, body);
    } catch (e) {
      if (e instanceof BundleError) throw e;
      throw new BundleError("bad_manifest");
    }
    if (render(manifest, manifestBytes, certificates, bundle.revoked, signature) !== text) {
      throw new BundleError("edited");
    }
    return bundle;
  }

  async function read(manifest, certificates, root, rootKey, body) {
    var seals = manifest.seals, rootEntry = manifest.root, revocation = manifest.revocation;
    if (hex(await sha256(certificates[0])) !== rootEntry.certificate_sha256 || !isCa(root) ||
        !(await issuedBy(root, root, rootKey))) {
      throw new BundleError("certificate_mismatch", "root");
    }
    if (!Array.isArray(seals) || seals.length !== certificates.length - 1) {
      throw new BundleError("certificate_mismatch", "count");
    }
    var keys = {}, qualifications = {}, ledgers = {};
    for (var i = 0; i < seals.length; i++) {
      var seal = seals[i], der = certificates[i + 1], keyId = pyStr(seal.key_id);
      var cert = certificateOf(der, keyId.slice(0, 20));
      if (hex(await sha256(der)) !== seal.certificate_sha256 || !(await issuedBy(cert, root, rootKey))) {
        throw new BundleError("certificate_mismatch", keyId.slice(0, 20));
      }
      var publicKey;
      try {
        publicKey = await importKey(cert.spki);
      } catch (e) {
        throw new BundleError("bad_manifest", keyId.slice(0, 20));
      }
      if (hex((await sha256(cert.spki)).subarray(0, 8)) !== keyId ||
          ["active", "rotated", "retired"].indexOf(seal.status) < 0) {
        throw new BundleError("bad_manifest", keyId.slice(0, 20));
      }
      keys[keyId] = {
        info: { seal_id: pyStr(seal.seal_id), name: pyStr(seal.name) || organization(cert), key_id: keyId,
          not_before: cert.notBefore, not_after: cert.notAfter, status: seal.status,
          retired_at: parseInstant(seal.compromised_at), rotated_at: parseInstant(seal.rotated_at) },
        key: publicKey };
      qualifications[keyId] = seal.qualifications.map(pyStr);
      if (seal.ledger !== null) {
        var ledgerCount = seal.ledger.count;
        if (typeof ledgerCount !== "number" || !isFinite(ledgerCount)) throw new Error("count");
        ledgers[keyId] = { key_id: keyId, count: Math.trunc(ledgerCount), sha256: pyStr(seal.ledger.sha256),
          file_name: keyId + ".bin" };
      }
    }
    var block = decode64(body[REVOKED], "revocation list");
    if (!equalBytes(block.subarray(0, 4), utf8.encode(REVOCATION_MAGIC))) {
      throw new BundleError("revocation_list_mismatch");
    }
    var revoked = block.subarray(4), width = REVOCATION_ENTRY_BYTES;
    var ordered = true;
    for (var at = width; at < revoked.length; at += width) {
      if (compareBytes(revoked.subarray(at - width, at), revoked.subarray(at, at + width)) >= 0) ordered = false;
    }
    if (hex(await sha256(revoked)) !== revocation.sha256 || revoked.length !== width * Math.trunc(revocation.count) ||
        !ordered) {
      throw new BundleError("revocation_list_mismatch");
    }
    return { root_key_id: hex((await sha256(root.spki)).subarray(0, 8)), root_name: pyStr(rootEntry.name),
      root_not_after: root.notAfter, issued_at: parseInstant(manifest.issued_at), next_update: parseInstant(manifest.next_update),
      keys: keys, qualifications: qualifications, ledgers: ledgers, revoked: revoked };
  }

  async function isRevoked(bundle, certificateNo) {
    var digest = await sha256(concat([utf8.encode("certcli revocation v1\0" + bundle.root_key_id + "\0"),
      utf8.encode(certificateNo)]));
    return sortedContains(bundle.revoked, digest.subarray(0, REVOCATION_ENTRY_BYTES), REVOCATION_ENTRY_BYTES);
  }

  // --------------------------------------------------------------------- the QR payload

  function NotACertcliQr() { this.code = "not_a_certcli_qr"; }

  /** qrpayload._split: (body, signature) of a well-formed payload, else NotACertcliQr. */
  function split(payload) {
    if (typeof payload !== "string" || payload.indexOf(PREFIX) !== 0 || payload.length > MAX_CHARS) {
      throw new NotACertcliQr();
    }
    var blob = b32decode(payload.slice(PREFIX.length));
    if (blob === null || blob.length < 1 + KEY_ID_LEN + 5 + SIG_LEN) throw new NotACertcliQr();
    var body = blob.subarray(0, blob.length - SIG_LEN), sig = blob.subarray(blob.length - SIG_LEN);
    if (body[0] !== 0x71 && body[0] !== 0x6d) throw new NotACertcliQr();     // "q" | "m"
    return { body: body, sig: sig };
  }

  function timeField(raw) {
    if (!raw.length) return null;
    if (raw.length !== 4) throw new NotACertcliQr();
    return (((raw[0] * 256 + raw[1]) * 256 + raw[2]) * 256 + raw[3]) * US;
  }

  /** qrpayload._claims: the fields of a signed body. */
  function claimsOf(body) {
    var fields = [], at = 1 + KEY_ID_LEN;
    while (at < body.length) {
      var end = at + 1 + body[at];
      if (end > body.length) throw new NotACertcliQr();
      fields.push(body.subarray(at + 1, end));
      at = end;
    }
    if (fields.length < 5 || (fields.length - 5) % 2) throw new NotACertcliQr();
    var text;
    try {
      text = fields.slice(0, 3).concat(fields.slice(5)).map(function (f) { return strictUtf8.decode(f); });
    } catch (e) {
      throw new NotACertcliQr();
    }
    var claims = { certificate_no: text[0], qualification_code: text[1], masked_name: text[2],
      valid_from: timeField(fields[3]), valid_until: timeField(fields[4]),
      key_id: hex(body.subarray(1, 1 + KEY_ID_LEN)), kind: String.fromCharCode(body[0]), extra: [] };
    for (var i = 3; i < text.length; i += 2) {
      if (!text[i]) { var bad = new Error("empty_key"); bad.code = "bad_input"; throw bad; }  // _body's BadInput
      claims.extra.push([text[i], text[i + 1]]);
    }
    return claims;
  }

  /** The payload in what a QR code carries: the part after "#" of an http(s) URL (qrpayload.payload_of). */
  function payloadOf(scanned) {
    if (typeof scanned === "string" && scanned.indexOf("#") >= 0 && /^https?:\/\//i.test(scanned.slice(0, 8))) {
      return scanned.slice(scanned.indexOf("#") + 1);
    }
    return scanned;
  }

  // --------------------------------------------------------------------- the verdict

  function Verdict(kind) {
    this.kind = kind;
    this.checks = [];
    this.facts = {};
    this.warnings = [];
    this.bundle_issued_at = null;
    this.bundle_next_update = null;
    this.status_as_of = null;
  }

  Verdict.prototype.add = function (name, ok, reason, detail) {
    this.checks.push({ name: name, ok: ok, reason: reason || "ok", detail: detail || "" });
    return !!ok;
  };
  Verdict.prototype.get = function (name) {
    return this.checks.filter(function (c) { return c.name === name; })[0] || null;
  };
  Verdict.prototype.skipRest = function (names) {
    var done = this.checks.map(function (c) { return c.name; }), self = this;
    names.forEach(function (name) {
      if (done.indexOf(name) < 0) self.checks.push({ name: name, ok: null, reason: "skipped", detail: "" });
    });
    var order = {};
    names.forEach(function (name, i) { order[name] = i; });
    this.checks = this.checks.map(function (c, i) { return [c, i]; }).sort(function (a, b) {
      var x = a[0].name in order ? order[a[0].name] : names.length, y = b[0].name in order ? order[b[0].name] : names.length;
      return x - y || a[1] - b[1];
    }).map(function (pair) { return pair[0]; });
    return this;
  };
  Object.defineProperty(Verdict.prototype, "valid", { get: function () {
    return this.checks.length > 0 && this.checks.every(function (c) { return c.ok !== false; }) &&
      this.checks.some(function (c) { return c.ok === true; });
  } });
  Object.defineProperty(Verdict.prototype, "reason", { get: function () {
    var failed = this.checks.filter(function (c) { return c.ok === false; })[0];
    return failed ? failed.reason : (this.valid ? "ok" : "skipped");
  } });
  /** The shape of `verify --json` (without the sentence, which the page words itself). */
  Verdict.prototype.toJSON = function () {
    return { valid: this.valid, kind: this.kind, reason: this.reason,
      bundle_issued_at: cstIso(this.bundle_issued_at), bundle_next_update: cstIso(this.bundle_next_update),
      status_as_of: cstIso(this.status_as_of),
      warnings: this.warnings.map(function (w) { return { code: w.code, data: w.data }; }),
      facts: this.facts, checks: this.checks.map(function (c) {
        return { name: c.name, ok: c.ok, reason: c.reason, detail: c.detail };
      }) };
  };

  /** rules.root_vouches: after the root has ended, only a bundle it signed while in force vouches. */
  function rootVouches(bundle, now) {
    return now < bundle.root_not_after || (bundle.issued_at !== null && bundle.issued_at < bundle.root_not_after);
  }

  /** claims.seal_check; once the certificate has ended, the chain model (rules.chain_standing):
   * recorded in the key's ledger (which holds only what it signed while in force), signed
   * inside the validity when a time is known, and a bundle that still vouches. */
  function sealCheck(verdict, info, signedAt, now, recorded, vouched) {
    var rotatedAt = recorded === true ? null : info.rotated_at;
    if (info.retired_at !== null && recorded !== true &&
        (recorded === false || signedAt === null || signedAt >= info.retired_at)) {
      verdict.add("seal_key", false, "seal_compromised", info.key_id);
    } else if (rotatedAt !== null && signedAt !== null && signedAt >= rotatedAt + ROTATION_GRACE) {
      verdict.add("seal_key", false, "seal_rotated", info.key_id + " " + cstText(rotatedAt));
    } else if (signedAt !== null && !(info.not_before <= signedAt && signedAt < info.not_after)) {
      verdict.add("seal_key", false, "seal_not_valid_at_signing", info.key_id);
    } else if (now >= info.not_after) {
      if (recorded !== true) {
        verdict.add("seal_key", false, "seal_expired", info.key_id + " " + cstText(info.not_after));
      } else if (!vouched) {
        verdict.add("seal_key", false, "bundle_after_root_expired", info.key_id + " " + cstText(info.not_after));
      } else {
        verdict.add("seal_key", true, "signed_while_valid", cstText(info.not_after));
      }
    } else if (now < info.not_before) {
      verdict.add("seal_key", false, "seal_not_yet_valid", info.key_id);
    } else {
      verdict.add("seal_key", true, "ok", info.key_id);
    }
  }

  function windowCheck(verdict, from, until, now) {
    if (until === null) verdict.add("annotation_window", true, "no_annotation");
    else if (from !== null && until - from > MAX_WINDOW) verdict.add("annotation_window", false, "window_too_long", cstText(until));
    else if (from !== null && now < from) verdict.add("annotation_window", false, "not_yet_valid", cstText(from));
    else if (now >= until) verdict.add("annotation_window", false, "annotation_expired", cstText(until));
    else verdict.add("annotation_window", true, "ok", cstText(until));
  }

  /** issued._ledger: is exactly this document in its closed key's ledger? */
  async function ledgerLookup(bundle, digest, info, options) {
    var reference = bundle.ledgers[info.key_id];
    if (!reference) return { ok: null, reason: "registry_offline", detail: "" };
    var table;
    if (reference.count === 0) {
      table = new Uint8Array(0);
    } else {
      var data = null;
      try {
        data = options.ledger ? await options.ledger(reference) : null;
      } catch (e) {
        data = null;
      }
      if (data === null || data === undefined) return { ok: false, reason: "ledger_missing", detail: reference.file_name };
      data = data instanceof Uint8Array ? data : new Uint8Array(data);
      if (data.length !== reference.count * LEDGER_ENTRY_BYTES || hex(await sha256(data)) !== reference.sha256) {
        return { ok: false, reason: "ledger_mismatch", detail: reference.file_name };
      }
      table = data;
    }
    if (sortedContains(table, digest.subarray(0, LEDGER_ENTRY_BYTES), LEDGER_ENTRY_BYTES)) {
      return { ok: true, reason: "in_ledger", detail: info.key_id + " (" + reference.count + ")" };
    }
    return { ok: false, reason: "not_in_ledger", detail: info.key_id };
  }

  /**
   * checks.verify_qr against a parsed bundle, offline.  options: now (µs; default the
   * browser's clock), maxBundleAge (µs or null), ledger(ref) -> Uint8Array | null (a
   * closed key's ledger file), qualificationName(code) -> name | null.
   */
  async function verifyQr(payload, bundle, options) {
    options = options || {};
    var now = options.now !== undefined && options.now !== null ? options.now : Date.now() * 1000;
    var verdict = new Verdict("qr");
    verdict.bundle_issued_at = bundle.issued_at;
    verdict.bundle_next_update = bundle.next_update;
    if (bundle.next_update !== null && now >= bundle.next_update) {
      verdict.warnings.push({ code: "bundle_past_next_update",
        data: { next_update: cstText(bundle.next_update), issued_at: cstText(bundle.issued_at) } });
    }
    // qr_signature
    var parts, entry, claims;
    try {
      parts = split(typeof payload === "string" ? payload : "");
      var keyId = hex(parts.body.subarray(1, 1 + KEY_ID_LEN));
      entry = bundle.keys[keyId];
      if (!entry) {
        verdict.add("qr_signature", false, "unknown_signing_key");
        return verdict.skipRest(QR_CHECKS);
      }
      var r = bigint(parts.sig.subarray(0, 32)), s = bigint(parts.sig.subarray(32));
      var signedBytes = concat([utf8.encode(PREFIX), parts.body]);
      if (!(r > BigInt(0) && r < N && s > BigInt(0) && s <= HALF_N) ||
          !(await ecdsaVerify(entry.key, parts.sig, signedBytes))) {
        verdict.add("qr_signature", false, "qr_signature_invalid");
        return verdict.skipRest(QR_CHECKS);
      }
      claims = claimsOf(parts.body);
    } catch (error) {
      if (error instanceof VerifierUnavailable) throw error;
      verdict.add("qr_signature", false, error && error.code ? error.code : "not_a_certcli_qr");
      return verdict.skipRest(QR_CHECKS);
    }
    var info = entry.info;
    verdict.add("qr_signature", true);
    var qualification = options.qualificationName ? options.qualificationName(claims.qualification_code) : null;
    var facts = { certificate_no: claims.certificate_no, name: claims.masked_name };
    if (qualification) facts.qualification = qualification;
    facts.qualification_code = claims.qualification_code;
    facts.seal = info.name;
    facts.valid_from = cstIso(claims.valid_from);
    facts.valid_until = cstIso(claims.valid_until);
    facts.valid_through = claims.valid_until === null ? null : validThrough(claims.valid_until);
    facts.key_id = claims.key_id;
    claims.extra.forEach(function (pair) { facts[pair[0]] = pair[1]; });
    verdict.facts = facts;
    // issued (a closed key's ledger), seal_key, scope
    var digest = await sha256(concat([utf8.encode(PREFIX), parts.body]));
    var found = await ledgerLookup(bundle, digest, info, options);
    sealCheck(verdict, info, claims.valid_from, now, found.ok, rootVouches(bundle, now));
    var check = verdict.get("seal_key");
    if (check && check.ok && (bundle.qualifications[info.key_id] || []).indexOf(claims.qualification_code) < 0) {
      check.ok = false;
      check.reason = "seal_not_for_qualification";
      check.detail = (info.seal_id || info.key_id) + ": " + claims.qualification_code;
    }
    verdict.add("issued", found.ok, found.reason, found.detail);
    check = verdict.get("seal_key");
    if (found.ok === false && info.retired_at !== null && check && check.ok) {
      check.ok = false;
      check.reason = "seal_compromised";
      check.detail = info.key_id + " (not issued before " + cstText(info.retired_at) + ")";
    }
    // certificate_status: the bundle's revocation list, as of its issued_at
    var asOf = cstText(bundle.issued_at);
    var stale = options.maxBundleAge !== undefined && options.maxBundleAge !== null && bundle.issued_at !== null &&
      now - bundle.issued_at > options.maxBundleAge;
    if (await isRevoked(bundle, claims.certificate_no)) {
      verdict.add("certificate_status", false, "certificate_revoked", asOf);
    } else if (stale) {
      verdict.add("certificate_status", false, "bundle_stale", asOf);
    } else {
      verdict.status_as_of = bundle.issued_at;
      verdict.add("certificate_status", true, "not_revoked_as_of", asOf);
    }
    windowCheck(verdict, claims.valid_from, claims.valid_until, now);
    return verdict.skipRest(QR_CHECKS);
  }

  global.CertcliVerifier = {
    parseBundle: parseBundle,
    verifyQr: verifyQr,
    payloadOf: payloadOf,
    parseInstant: parseInstant,
    cstText: cstText,
    cstIso: cstIso,
    validThrough: validThrough,
    base64Decode: base64Strict,
    BundleError: BundleError,
    VerifierUnavailable: VerifierUnavailable,
    QR_CHECKS: QR_CHECKS.slice()
  };
})(typeof window !== "undefined" ? window : globalThis);
