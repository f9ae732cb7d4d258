// stripe_client.cjs: the official npm `stripe` client driving the Stripe
// double (t/lib/stripe_double.py) over host/port/protocol, so the double
// is shown to speak the wire format the real client speaks (form bodies
// in bracket notation, Bearer auth, Idempotency-Key, Stripe-Version).
//
//   node stripe_client.cjs NODE_MODULES PORT KEY
//
// Prints one JSON object of what each call returned (or its error type).
'use strict';
const path = require('path');
const [mods, port, key] = process.argv.slice(2);
const Stripe = require(path.join(mods, 'stripe'));
const stripe = Stripe(key, {host: '127.0.0.1', port: Number(port), protocol: 'http',
  telemetry: false, maxNetworkRetries: 0, timeout: 10000});

async function err(p) {
  try { await p; return null; } catch (e) { return {type: e.type, code: e.code || null,
    status: e.statusCode, param: e.param || null}; }
}

(async () => {
  const out = {api_version: stripe.getApiField('version')};
  const params = {
    mode: 'payment',
    line_items: [{price_data: {currency: 'usd', product_data: {name: 'Residential proxy 10 GB'},
      unit_amount: 1500}, quantity: 1}],
    success_url: 'https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://shop.example/cancel',
    client_reference_id: 'pub42',
    metadata: {payment: 'pub42'},
    payment_intent_data: {metadata: {payment: 'pub42'}},
  };
  const s = await stripe.checkout.sessions.create(params, {idempotencyKey: 'pay:order:42:stripe:1'});
  out.created = {id: s.id, object: s.object, status: s.status, amount_total: s.amount_total,
    currency: s.currency, url: s.url, client_reference_id: s.client_reference_id,
    metadata: s.metadata, payment_status: s.payment_status};
  const again = await stripe.checkout.sessions.create(params, {idempotencyKey: 'pay:order:42:stripe:1'});
  out.replayed_same_id = again.id === s.id;
  out.idem_other_params = await err(stripe.checkout.sessions.create(
      Object.assign({}, params, {client_reference_id: 'other'}), {idempotencyKey: 'pay:order:42:stripe:1'}));
  out.pmt_refused = await err(stripe.checkout.sessions.create(
      Object.assign({}, params, {payment_method_types: ['card']})));
  const got = await stripe.checkout.sessions.retrieve(s.id);
  out.retrieved_same = got.id === s.id && got.amount_total === 1500;
  const list = await stripe.checkout.sessions.list({limit: 5, created: {gte: s.created}});
  out.listed = list.data.map((x) => x.id);
  out.missing = await err(stripe.checkout.sessions.retrieve('cs_test_nope'));
  const bad = Stripe('sk_test_wrong_key', {host: '127.0.0.1', port: Number(port), protocol: 'http',
    telemetry: false, maxNetworkRetries: 0});
  out.bad_key = await err(bad.checkout.sessions.retrieve(s.id));
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => { process.stdout.write(JSON.stringify({fatal: String(e.stack || e)}) + '\n'); process.exit(1); });
