// journey.cjs: a customer's whole purchase in Debian's chromium
// (playwright-core), run twice: with JavaScript and without.  The visitor
// browses the catalog, opens a plan, adds it to the cart, applies a
// coupon on the cart page, goes to checkout, signs in there (the cart and
// its coupon come along), pays from the wallet, lands on the order, and
// opens the printable invoice with print media emulated.  On every page:
// console errors, CSP violations (the securitypolicyviolation event and
// the console's report), and axe-core's WCAG 2.2 A/AA findings at 1280px
// and 390px.  t/53-browser-shop.t starts the Stack, makes the customer,
// the wallet and the coupon, runs this and makes the assertions.
//
//   node journey.cjs PLAYWRIGHT_CORE_DIR AXE_CORE_DIR BASE_URL OUT_DIR
//
// Environment: PX_CUST_EMAIL, PX_CUST_PW (a verified customer without
// 2FA and with money), PX_COUPON (a code that applies to every plan).
// Prints one JSON object: {runs: {js: RUN, nojs: RUN}} where RUN is
// {pages: {NAME: {url, status, axe: {1280, 390}, csp}}, order, console,
// pageerrors, csp, facts, error}.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch } = require('./common.cjs');
const [pwDir, axeDir, base, out] = process.argv.slice(2);
const axeSource = fs.readFileSync(path.join(axeDir, 'axe-core', 'axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const EXTRA = ['heading-order', 'page-has-heading-one', 'landmark-one-main', 'duplicate-id'];
const CUST = { email: process.env.PX_CUST_EMAIL, pw: process.env.PX_CUST_PW };
const COUPON = process.env.PX_COUPON;

async function journey(js) {
  const tag = js ? 'js' : 'nojs';
  const dir = path.join(out, tag);
  fs.mkdirSync(dir, { recursive: true });
  const run = { pages: {}, order: [], console: [], pageerrors: [], csp: [], facts: {} };
  let here = 'start';
  // A fresh profile per run: no cookie of the other run comes along.
  const ctx = await launch(pwDir, dir);
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(10000);
  // Without JavaScript: the DevTools protocol switches script execution
  // off for the page (javaScriptEnabled is a launch option of a
  // persistent context).  axe needs timers, which do not fire while
  // scripts are off, so each page is loaded, navigated and rendered with
  // scripts off, and they are switched on only around axe's run over
  // the page as it stands (the shop's pages carry no script to start).
  const cdp = js ? null : await ctx.newCDPSession(page);
  const scripts = async (on) => { if (cdp) await cdp.send('Emulation.setScriptExecutionDisabled', { value: !on }); };
  await scripts(false);
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const t = here + ': ' + m.type() + ': ' + m.text();
    (/Content.Security.Policy/i.test(m.text()) ? run.csp : run.console).push(t);
  });
  page.on('pageerror', (e) => run.pageerrors.push(here + ': ' + String(e)));
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  });

  async function axe() {
    await scripts(true);
    try {
      return await axe_run();
    } finally {
      await scripts(false);
    }
  }
  async function axe_run() {
    await page.evaluate(axeSource);
    const r = await page.evaluate(async ([tags, extra]) => {
      const opts = { resultTypes: ['violations'] };
      const a = await window.axe.run(document, Object.assign({ runOnly: { type: 'tag', values: tags } }, opts));
      const b = await window.axe.run(document, Object.assign({ runOnly: { type: 'rule', values: extra } }, opts));
      return a.violations.concat(b.violations);
    }, [TAGS, EXTRA]);
    return r.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 200) })),
    }));
  }
  async function look(name, resp) {
    here = name;
    if (process.env.PX_DEBUG) process.stderr.write(tag + ' ' + name + ' ' + page.url() + '\n');
    await page.waitForLoadState('load');
    const p = { url: page.url().replace(base, ''), status: resp ? resp.status() : null, axe: {} };
    for (const w of [1280, 390]) {
      await page.setViewportSize(w === 1280 ? { width: 1280, height: 900 } : { width: 390, height: 844 });
      p.axe[w] = await axe();
      await page.screenshot({ path: path.join(dir, name + '-' + w + '.png'), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    // With scripts off the init script never ran: no events to read.
    p.csp = js ? await page.evaluate(() => window.__csp || []) : [];
    run.csp.push(...p.csp.map((x) => name + ': ' + x));
    run.pages[name] = p;
    run.order.push(name);
    return p;
  }
  async function go(selector) {
    const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
    return resp;
  }
  const open = (url) => page.goto(base + url, { waitUntil: 'load' });
  const text = (sel) => page.textContent(sel).then((x) => (x || '').replace(/\s+/g, ' ').trim());

  try {
    // Whether the page's scripts run: a timer fires only when they do.
    await open('/');
    run.facts.scripts = await Promise.race([
      page.evaluate(() => new Promise((r) => setTimeout(() => r('on'), 0))).catch(() => 'off'),
      new Promise((r) => setTimeout(() => r('off'), 1000))]);
    await look('home', await open('/'));
    await look('plans', await go('a[href="/plans"]'));
    const href = await page.$eval('.card.plan h3 a', (a) => a.getAttribute('href'));
    await look('plan', await go('.card.plan h3 a[href="' + href + '"]'));
    run.facts.plan = await text('h1');
    // "Add to cart" on the plan page leads to the add form; its button
    // adds the plan and lands on the cart.
    await look('cart-add', await go('main a[href^="/cart/add"], main form[action="/cart/add"] button[type=submit]'));
    await look('cart', await go('form[action="/cart/add"] button[type=submit]'));
    run.facts.cart_count = await text('.site-header');
    await page.fill('#coupon-code', COUPON);
    await look('cart-coupon', await go('form[action="/cart/coupon"] button[type=submit]'));
    run.facts.coupon_applied = await text('#coupon-applied');
    // Checkout asks an anonymous visitor to sign in, then comes back.
    await look('checkout-login', await go('main a[href="/checkout"]'));
    await page.fill('form[action^="/login"] input[name=email]', CUST.email);
    await page.fill('form[action^="/login"] input[name=password]', CUST.pw);
    await go('form[action^="/login"] button[type=submit]');
    if (!/\/checkout$/.test(page.url())) await open('/checkout');
    await look('checkout', null);
    run.facts.checkout_coupon = await text('#coupon-applied');
    run.facts.pay_button = await text('form[action="/checkout"] button[type=submit]');
    await look('order', await go('form[action="/checkout"] button[type=submit]'));
    run.facts.order_url = page.url().replace(base, '');
    run.facts.order_text = await text('main');
    const inv = await page.$eval('main a[href^="/invoices/"]', (a) => a.getAttribute('href'));
    await look('invoice', await go('main a[href="' + inv + '"]'));
    run.facts.invoice_url = inv;
    // Print: the browser's print media, as the print dialog renders it.
    await page.emulateMedia({ media: 'print' });
    here = 'invoice-print';
    run.facts.print = await page.evaluate(() => {
      const vis = (sel) => [...document.querySelectorAll(sel)].some((e) => getComputedStyle(e).display !== 'none');
      return { header: vis('.site-header'), footer: vis('.site-footer'), lines: document.querySelectorAll('table tr').length,
        text: document.body.innerText.replace(/\s+/g, ' ').slice(0, 2000) };
    });
    await page.screenshot({ path: path.join(dir, 'invoice-print.png'), fullPage: true });
    if (js) await page.pdf({ path: path.join(dir, 'invoice.pdf'), format: 'A4' }).catch((e) => { run.facts.pdf = String(e); });
    await page.emulateMedia({ media: 'screen' });
  } catch (e) {
    run.error = here + ': ' + String(e && e.stack || e);
    await page.screenshot({ path: path.join(dir, 'error.png'), fullPage: true }).catch(() => {});
  }
  await ctx.close();
  return run;
}

async function main() {
  const res = { runs: {} };
  res.runs.js = await journey(true);
  res.runs.nojs = await journey(false);
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
