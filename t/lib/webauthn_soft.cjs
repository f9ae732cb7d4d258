// webauthn_soft.cjs: a software authenticator for t/27-passkeys.t,
// written apart from the C verifier (node:crypto only): it answers the
// server's options as a browser and an authenticator would, with
// attestation "none", ES256 (P-256) or EdDSA (Ed25519) keys, and can
// be told to lie (origin, RP ID, flags, counter, signature, CBOR).
//
//   node webauthn_soft.cjs < request.json  ->  answer.json
//
// {"op":"create","options":{publicKey...},"origin":"http://...","alg":-7|-8,
//  "rpId"?: override, "flags"?: n, "count"?: n, "attObj"?: base64url}
//   -> {"credential": "<JSON for the form>", "key": {...}}
// {"op":"get","options":{publicKey...},"origin":...,"key":{...},"count":n,
//  "flags"?: n, "rpId"?: override, "userHandle"?: b64u or null,
//  "badSig"?: true, "type"?: "webauthn.get"}
//   -> {"credential": "<JSON>"}
'use strict';
const crypto = require('crypto');

const b64u = (b) => Buffer.from(b).toString('base64url');
const unb64u = (s) => Buffer.from(s, 'base64url');

// A minimal CBOR encoder: unsigned and negative integers, byte and text
// strings, maps (of the pairs given, in order).
function head(major, n) {
  if (n < 24) return Buffer.from([major << 5 | n]);
  if (n < 256) return Buffer.from([major << 5 | 24, n]);
  if (n < 65536) return Buffer.from([major << 5 | 25, n >> 8, n & 255]);
  const b = Buffer.alloc(5); b[0] = major << 5 | 26; b.writeUInt32BE(n, 1); return b;
}
function cbor(v) {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') { const b = Buffer.from(v, 'utf8'); return Buffer.concat([head(3, b.length), b]); }
  if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
  if (Array.isArray(v)) { // a map as [[k, v], ...]
    return Buffer.concat([head(5, v.length), ...v.map(([k, x]) => Buffer.concat([cbor(k), cbor(x)]))]);
  }
  throw new Error('cbor: ' + typeof v);
}

function coseKey(alg, pub) {
  const jwk = pub.export({format: 'jwk'});
  if (alg === -7)
    return cbor([[1, 2], [3, -7], [-1, 1], [-2, unb64u(jwk.x)], [-3, unb64u(jwk.y)]]);
  return cbor([[1, 1], [3, -8], [-1, 6], [-2, unb64u(jwk.x)]]);
}

function authData(rpId, flags, count, attested) {
  const c = Buffer.alloc(4); c.writeUInt32BE(count >>> 0, 0);
  return Buffer.concat([crypto.createHash('sha256').update(rpId).digest(), Buffer.from([flags]), c,
    attested || Buffer.alloc(0)]);
}

function clientData(type, challenge, origin) {
  return Buffer.from(JSON.stringify({type, challenge, origin, crossOrigin: false}));
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const q = JSON.parse(input);
  const pk = q.options.publicKey;
  let out;
  if (q.op === 'create') {
    const alg = q.alg || -7;
    const kp = alg === -7 ? crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'})
      : crypto.generateKeyPairSync('ed25519');
    const credId = crypto.randomBytes(32);
    const len = Buffer.alloc(2); len.writeUInt16BE(credId.length, 0);
    const attested = Buffer.concat([Buffer.alloc(16), len, credId, coseKey(alg, kp.publicKey)]);
    const ad = authData(q.rpId || pk.rp.id, q.flags === undefined ? 0x45 : q.flags, q.count || 0, attested);
    const att = q.attObj ? unb64u(q.attObj) : cbor([['fmt', 'none'], ['attStmt', []], ['authData', ad]]);
    const cred = {id: b64u(credId), rawId: b64u(credId), type: 'public-key',
      response: {clientDataJSON: b64u(clientData(q.type || 'webauthn.create', pk.challenge, q.origin)),
        attestationObject: b64u(att)}};
    out = {credential: JSON.stringify(cred), key: {alg, credId: b64u(credId), userHandle: pk.user.id,
      pem: kp.privateKey.export({format: 'pem', type: 'pkcs8'})}};
  } else {
    const k = q.key;
    const ad = authData(q.rpId || pk.rpId, q.flags === undefined ? 0x05 : q.flags, q.count || 0);
    const cdj = clientData(q.type || 'webauthn.get', pk.challenge, q.origin);
    const msg = Buffer.concat([ad, crypto.createHash('sha256').update(cdj).digest()]);
    const priv = crypto.createPrivateKey(k.pem);
    let sig = crypto.sign(k.alg === -7 ? 'sha256' : null, msg, priv);
    if (q.badSig) { sig = Buffer.from(sig); sig[sig.length - 1] ^= 1; }
    const resp = {clientDataJSON: b64u(cdj), authenticatorData: b64u(ad), signature: b64u(sig)};
    const uh = q.userHandle === undefined ? k.userHandle : q.userHandle;
    if (uh !== null) resp.userHandle = uh;
    out = {credential: JSON.stringify({id: q.credId || k.credId, rawId: q.credId || k.credId,
      type: 'public-key', response: resp})};
  }
  process.stdout.write(JSON.stringify(out));
});
