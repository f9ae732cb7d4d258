// a11y.cjs: every page a person can reach, public, customer and staff,
// in Debian's chromium (playwright-core) with axe-core run inside it, at
// 1280px and at a 390px phone width.  t/52-browser-a11y.t starts the
// Stack, makes the customer and the staff member, runs this, checks the
// saved HTML with the Nu HTML checker and makes the assertions.
//
//   node a11y.cjs PLAYWRIGHT_CORE_DIR AXE_CORE_DIR BASE_URL OUT_DIR
//
// Environment: PX_CUST_EMAIL, PX_CUST_PW (a verified customer without
// 2FA), PX_STAFF_EMAIL, PX_STAFF_PW (a super admin not yet enrolled).
// For each page it saves the server's own bytes to OUT/NAME.html (what
// the Nu checker reads) and a screenshot per width, and prints one JSON
// object: {pages: {NAME: {url, status, axe: {1280: [...], 390: [...]}}},
// order, error}.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch, totp, step, calm, fresh_step } = require('./common.cjs');
const [pwDir, axeDir, base, out] = process.argv.slice(2);
const axeSource = fs.readFileSync(path.join(axeDir, 'axe-core', 'axe.min.js'), 'utf8');

// WCAG 2.0, 2.1 and 2.2, levels A and AA; then the structural rules axe
// files under best practice that the shop holds itself to as well
// (headings in order, one h1, one main landmark).
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const EXTRA = ['heading-order', 'page-has-heading-one', 'landmark-one-main', 'landmark-unique',
  'empty-heading', 'duplicate-id'];

const CUST = { email: process.env.PX_CUST_EMAIL, pw: process.env.PX_CUST_PW };
const STAFF = { email: process.env.PX_STAFF_EMAIL, pw: process.env.PX_STAFF_PW };
const res = { pages: {}, order: [], console: [] };
let page;
let here = 'start';

// axe-core's findings on the page as it is now, in the form the test
// prints: rule, impact, help, and up to five offending nodes.
async function axe() {
  // Evaluated through the DevTools protocol, so the page's CSP (script-src
  // 'self') neither blocks axe nor has to be loosened for it.
  await page.evaluate(axeSource);
  const r = await page.evaluate(async ([tags, extra]) => {
    const opts = { resultTypes: ['violations'] };
    const a = await window.axe.run(document, Object.assign({ runOnly: { type: 'tag', values: tags } }, opts));
    const b = await window.axe.run(document, Object.assign({ runOnly: { type: 'rule', values: extra } }, opts));
    return a.violations.concat(b.violations);
  }, [TAGS, EXTRA]);
  return r.map((v) => ({
    id: v.id, impact: v.impact, tags: v.tags.filter((x) => /^wcag/.test(x)), help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 200),
      why: (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 300) })),
  }));
}

// Record the page a response led to: its bytes, axe at both widths, and
// a screenshot at each.
async function look(name, resp) {
  here = name;
  await page.waitForLoadState('load');
  const p = { url: page.url().replace(base, ''), status: resp ? resp.status() : null, axe: {} };
  if (resp) fs.writeFileSync(path.join(out, name + '.html'), await resp.body());
  for (const w of [1280, 390]) {
    await page.setViewportSize(w === 1280 ? { width: 1280, height: 900 } : { width: 390, height: 844 });
    p.axe[w] = await axe();
    await page.screenshot({ path: path.join(out, name + '-' + w + '.png'), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  res.pages[name] = p;
  res.order.push(name);
  return p;
}
async function go(selector) {
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
  return resp;
}
const open = (url) => page.goto(base + url, { waitUntil: 'load' });

async function publicPages() {
  await look('home', await open('/'));
  await look('plans', await open('/plans'));
  await look('plans-filtered', await open('/plans?protocol=vless&sort=price'));
  await look('plans-none', await open('/plans?protocol=vless&country=zz'));
  await open('/plans');
  const href = await page.$eval('.card.plan h3 a', (a) => a.getAttribute('href'));
  await look('plan', await open(href));
  await look('cart-add', await open('/cart/add?plan=' + href.split('/').pop()));
  await look('cart', await go('form[action="/cart/add"] button[type=submit]'));
  await look('terms', await open('/terms'));
  await look('404', await open('/no-such-page'));
  await look('plan-404', await open('/plans/no-such-plan'));
  await look('login', await open('/login'));
  await look('register', await open('/register'));
  await look('forgot', await open('/password/forgot'));
  await look('admin-login', await open('/admin/login'));
}

async function customer(ctx) {
  await ctx.clearCookies();
  await open('/login');
  await page.fill('form[action="/login"] input[name=email]', CUST.email);
  await page.fill('form[action="/login"] input[name=password]', CUST.pw);
  await look('account', await go('form[action="/login"] button[type=submit]'));
  await look('account-email', await open('/account/email'));
  await look('account-password', await open('/account/password'));
  await look('account-sessions', await open('/account/sessions'));
  await look('account-delete', await open('/account/delete'));
  await look('checkout', await open('/checkout'));
  await look('orders', await open('/orders'));
  await look('tokens', await open('/account/tokens'));
  await look('account-2fa-setup', await open('/account/2fa'));
  const secret = (await page.textContent('code.secret')).trim();
  await calm();
  const enrol = step() - 1;
  await page.fill('form[action="/account/2fa/enable"] input[name=password]', CUST.pw);
  await page.fill('form[action="/account/2fa/enable"] input[name=code]', totp(secret, enrol));
  await look('account-codes', await go('form[action="/account/2fa/enable"] button[type=submit]'));
  const codes = await page.$$eval('ol.codes li code', (els) => els.map((e) => e.textContent.trim()));
  await look('account-2fa-on', await open('/account/2fa'));
  await open('/account/tokens');
  await page.fill('form[action="/account/tokens"] input[name=name]', 'a11y script');
  await page.check('form[action="/account/tokens"] input[name=scope][value=read]');
  await page.fill('form[action="/account/tokens"] input[name=password]', CUST.pw);
  await page.fill('form[action="/account/tokens"] input[name=code]', codes[0]);
  await look('token-created', await go('form[action="/account/tokens"] button[type=submit]'));
  await look('tokens-list', await open('/account/tokens'));
  await look('wallet', await open('/wallet'));
  await look('invoice', await open('/invoices/' + process.env.PX_INVOICE));
  // Sign out, sign in again: the second-factor page.
  await open('/account');
  await go('.site-header form[action="/logout"] button[type=submit]');
  await open('/login');
  await page.fill('form[action="/login"] input[name=email]', CUST.email);
  await page.fill('form[action="/login"] input[name=password]', CUST.pw);
  await look('login-2fa', await go('form[action="/login"] button[type=submit]'));
  await page.fill('form[action="/login/2fa"] input[name=code]', totp(secret, await fresh_step(enrol)));
  await go('form[action="/login/2fa"] button[type=submit]');
  res.customer_signed_in_again = page.url().replace(base, '');
}

async function staff(ctx) {
  await ctx.clearCookies();
  await open('/admin/login');
  await page.fill('form[action="/admin/login"] input[name=email]', STAFF.email);
  await page.fill('form[action="/admin/login"] input[name=password]', STAFF.pw);
  await look('admin-2fa-setup', await go('form[action="/admin/login"] button[type=submit]'));
  const secret = (await page.textContent('code.secret')).trim();
  await calm();
  const enrol = step() - 1;
  await page.fill('form[action="/admin/2fa/setup"] input[name=code]', totp(secret, enrol));
  await look('admin-codes', await go('form[action="/admin/2fa/setup"] button[type=submit]'));
  await look('admin', await go('main a[href="/admin"]'));
  await look('admin-staff', await open('/admin/staff'));
  await look('admin-audit', await open('/admin/audit'));
  await look('admin-security', await open('/admin/security'));
  await look('admin-tokens', await open('/admin/tokens'));
  await look('admin-reauth', await open('/admin/reauth'));
  await look('admin-customers', await open('/admin/customers'));
  await look('admin-orders', await open('/admin/orders'));
  await look('admin-order', await open('/admin/orders/' + process.env.PX_ORDER));
  await look('admin-customer', await open('/admin/customers/' + process.env.PX_CUST_ID));
  await look('admin-settings', await open('/admin/settings'));
  await look('admin-coupons', await open('/admin/coupons'));
  await look('admin-coupon-new', await open('/admin/coupons/new'));
  await look('admin-coupon', await open('/admin/coupons/' + process.env.PX_COUPON_ID));
  await look('admin-plans', await open('/admin/plans'));
  await look('admin-plan', await open('/admin/plans/1'));
  await look('admin-plan-new', await open('/admin/plans/new'));
  await look('admin-categories', await open('/admin/categories'));
  await look('admin-category', await open('/admin/categories/1'));
  await look('admin-brands', await open('/admin/brands'));
  await look('admin-invoice', await open('/admin/invoices/' + process.env.PX_INVOICE));
  // Sign in again: the staff second-factor page.
  await ctx.clearCookies();
  await open('/admin/login');
  await page.fill('form[action="/admin/login"] input[name=email]', STAFF.email);
  await page.fill('form[action="/admin/login"] input[name=password]', STAFF.pw);
  await look('admin-login-2fa', await go('form[action="/admin/login"] button[type=submit]'));
  await page.fill('form[action="/admin/login/2fa"] input[name=code]', totp(secret, await fresh_step(enrol)));
  await go('form[action="/admin/login/2fa"] button[type=submit]');
  res.staff_signed_in_again = page.url().replace(base, '');
}

async function main() {
  const ctx = await launch(pwDir, out);
  page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => {
    // The two 404 pages' own status is expected; anything else is not.
    const u = (m.location() || {}).url || '';
    if (m.type() === 'error' && !/\/no-such-(page|plan)$/.test(u)) res.console.push(here + ': ' + m.text() + ' ' + u);
  });
  try {
    for (const fn of [publicPages, customer, staff]) await fn(ctx);
  } catch (e) {
    res.error = here + ': ' + String(e && e.stack || e);
    await page.screenshot({ path: path.join(out, 'error.png'), fullPage: true }).catch(() => {});
  }
  await ctx.close();
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
