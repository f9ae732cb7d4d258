// payments.cjs: checkout through each payment gateway's double in
// Debian's chromium (playwright-core), for t/55-browser-payments.t: sign
// in through the form, then for each phase put the plan in the cart, open
// /checkout and press "Pay ... by <gateway>"; the shop's answer (303 to
// /pay/{id}, then 303 to the gateway's checkout: a redirect chain that
// follows a form, so CSP form-action applies to it) lands on the double's
// page, where the customer pays (Stripe's Pay button, PayPal's Pay now,
// NOWPayments' Pay in full); the double sends the browser back to the
// shop's return page, which goes on to the order; the order page is
// reloaded until its item carries "Your proxy" (work provisioned it).
// Every page is watched for securitypolicyviolation events and console
// errors, per phase.
//
//   node payments.cjs NODE_MODULES_DIR BASE_URL OUT_DIR
//
// Environment: PX_CUST_EMAIL, PX_CUST_PW (a verified customer without
// 2FA), PX_PLAN (the slug of the plan to buy), PX_PHASES (JSON list of
// {name, gateway, origin, expect: "pay"|"blocked"}), PX_SIGNAL_DIR (the
// script writes <phase>.go there, waits for <phase>.armed before it
// presses the gateway's button, then for <phase>.ready: the test holds
// the shop's answer until the gateway's checkout exists).  Prints one JSON object: {phases:
// {NAME: {facts, csp, console, pageerrors}}, error}.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch } = require('./common.cjs');
const [nm, base, out] = process.argv.slice(2);
const phases = JSON.parse(process.env.PX_PHASES);
const signals = process.env.PX_SIGNAL_DIR;

const PAY_BUTTON = { stripe: '#pay', paypal: '#approve', nowpayments: 'button[value="full"]' };

async function main() {
  const run = { phases: {} };
  let cur = null;
  const ctx = await launch(nm, out);
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(15000);
  // Console errors of the shop's pages count; the doubles' own (their
  // favicon's 404) are kept apart, for the record.
  page.on('console', (m) => {
    if (cur === null || (m.type() !== 'error' && m.type() !== 'warning')) return;
    const t = page.url().replace(base, '') + ': ' + m.type() + ': ' + m.text();
    if (/Content.Security.Policy/i.test(m.text())) cur.csp.push(t);
    else (page.url().startsWith(base) ? cur.console : cur.gateway_console).push(t);
  });
  // Every navigation request to the shop (redirects included), in order.
  page.on('request', (q) => {
    if (cur !== null && q.isNavigationRequest() && q.url().startsWith(base)) cur.navs.push(q.url().replace(base, ''));
  });
  page.on('pageerror', (e) => cur && cur.pageerrors.push(String(e)));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const v = JSON.parse(sessionStorage.getItem('__csp') || '[]');
      v.push(location.href + ': ' + e.violatedDirective + ' ' + e.blockedURI);
      sessionStorage.setItem('__csp', JSON.stringify(v));
    });
  });
  // The violations the shop's pages saw (kept in sessionStorage across
  // the page loads of one origin), moved into the phase.
  async function drainCsp() {
    if (!page.url().startsWith(base)) return;
    const v = await page.evaluate(() => {
      const x = JSON.parse(sessionStorage.getItem('__csp') || '[]');
      sessionStorage.removeItem('__csp');
      return x;
    }).catch(() => []);
    cur.csp.push(...v);
  }
  async function waitFile(f, ms) {
    for (let i = 0; i < ms / 50; i++) {
      if (fs.existsSync(f)) return true;
      await page.waitForTimeout(50);
    }
    return false;
  }
  const go = async (sel) => (await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(sel)]))[0];
  try {
    await page.goto(base + '/login');
    await page.fill('input[name="email"]', process.env.PX_CUST_EMAIL);
    await page.fill('input[name="password"]', process.env.PX_CUST_PW);
    await Promise.all([page.waitForNavigation(), page.click('main form button[type="submit"]')]);

    for (const ph of phases) {
      cur = { facts: {}, csp: [], console: [], gateway_console: [], pageerrors: [], navs: [] };
      run.phases[ph.name] = cur;
      const f = cur.facts;
      await page.goto(base + '/plans/' + process.env.PX_PLAN, { waitUntil: 'load' });
      await go('main a[href^="/cart/add"], main form[action="/cart/add"] button[type=submit]');
      await go('form[action="/cart/add"] button[type=submit]');
      await page.goto(base + '/checkout', { waitUntil: 'load' });
      f.offered = await page.$$eval('button[id^="pay-"]', (bs) => bs.map((b) => b.id));
      await drainCsp();
      fs.writeFileSync(path.join(signals, ph.name + '.go'), '');
      f.armed = await waitFile(path.join(signals, ph.name + '.armed'), 30000);
      // The shop holds its answer until the test says the gateway's
      // checkout exists: the whole chain to the gateway then follows
      // this one form submission.
      const t0 = Date.now();
      const nav = page.waitForURL((u) => u.href.startsWith(ph.origin), { timeout: 30000, waitUntil: 'load' })
        .then(() => true, () => false);
      await page.click('#pay-' + ph.gateway);
      f.ready = await waitFile(path.join(signals, ph.name + '.ready'), 30000);
      f.reached_gateway = await nav;
      f.to_gateway_ms = Date.now() - t0;
      f.gateway_url = page.url();
      await page.waitForTimeout(300);
      if (!f.reached_gateway) {
        // Blocked (or lost): where the browser stayed, and what it said.
        f.stayed_at = page.url().replace(base, '');
        await drainCsp();
        await page.screenshot({ path: path.join(out, ph.name + '-blocked.png'), fullPage: true });
        continue;
      }
      await page.screenshot({ path: path.join(out, ph.name + '-gateway.png'), fullPage: true });
      // Pay at the double; it sends the browser back to the shop.
      const before = cur.navs.length;
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(base), { timeout: 30000, waitUntil: 'load' }),
        page.click(PAY_BUTTON[ph.gateway]),
      ]);
      f.returned_to = cur.navs[before] || page.url().replace(base, '');
      await drainCsp();
      // The return page shows the state and moves on to the order once
      // paid (a meta refresh while it waits).
      let order = null;
      for (let i = 0; i < 300 && !order; i++) {
        const m = page.url().replace(base, '').match(/^\/orders\/([A-Za-z0-9]+)/);
        if (m) order = m[1];
        else {
          const a = await page.$('main a[href^="/orders/"]');
          if (a && /paid|active|provision/i.test(await page.textContent('main'))) {
            order = (await a.getAttribute('href')).split('/')[2].split('?')[0];
          } else {
            await page.waitForTimeout(200);
            if (page.url().startsWith(base + '/pay')) await page.reload({ waitUntil: 'load' }).catch(() => null);
          }
        }
      }
      await drainCsp();
      f.order = order;
      let active = false;
      for (let i = 0; order && i < 300 && !active; i++) {
        const r = await page.goto(base + '/orders/' + order, { waitUntil: 'load' });
        f.order_status = r ? r.status() : null;
        active = (await page.$('main a[href^="/services/"]')) !== null;
        if (!active) await page.waitForTimeout(200);
      }
      f.order_state = order ? (await page.textContent('main dl')).replace(/\s+/g, ' ').trim() : null;
      f.active = active;
      f.paid_to_active_ms = Date.now() - t0;
      await drainCsp();
      await page.screenshot({ path: path.join(out, ph.name + '-order.png'), fullPage: true });
      fs.writeFileSync(path.join(out, ph.name + '-order.html'), await page.content());
    }
  } catch (e) {
    run.error = (cur ? JSON.stringify(cur.facts) + ': ' : '') + String(e && e.stack || e);
  }
  await ctx.close();
  process.stdout.write(JSON.stringify(run) + '\n');
}

main();
