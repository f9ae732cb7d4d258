// stripe_sign.cjs: the independent signer of t/98-stripe.t, the official
// npm `stripe` package (pinned by quickstart's NODE_PKGS).
//
//   node stripe_sign.cjs NODE_MODULES < request.json
//
// request.json: {"op":"sign","payload":"...","secret":"whsec_...",
//   "timestamp":N?, "scheme":"v1"?, "signature":"..."?}
//   -> {"header": generateTestHeaderString(...)}
// or {"op":"verify","payload":"...","header":"...","secret":"...",
//   "tolerance":N?} -> {"ok":true,"id":...} or {"ok":false,"error":"..."}
// (constructEvent: cross-checks the C verifier's verdicts).
// "version" in every answer: the package's, so the test can assert it.
'use strict';
const path = require('path');
const mods = process.argv[2];
const Stripe = require(path.join(mods, 'stripe'));
const version = require(path.join(mods, 'stripe', 'package.json')).version;
const stripe = Stripe('sk_test_signer', {telemetry: false});

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const out = {version, has_generate: typeof stripe.webhooks.generateTestHeaderString === 'function'};
  if (req.op === 'sign') {
    const o = {payload: req.payload, secret: req.secret};
    if (req.timestamp !== undefined) o.timestamp = req.timestamp;
    if (req.scheme !== undefined) o.scheme = req.scheme;
    if (req.signature !== undefined) o.signature = req.signature;
    out.header = stripe.webhooks.generateTestHeaderString(o);
  } else if (req.op === 'verify') {
    try {
      const ev = stripe.webhooks.constructEvent(req.payload, req.header, req.secret,
          req.tolerance, undefined, req.received_at);
      out.ok = true;
      out.id = ev.id;
    } catch (e) {
      out.ok = false;
      out.error = String(e.message || e);
    }
  } else {
    out.error = 'unknown op';
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
