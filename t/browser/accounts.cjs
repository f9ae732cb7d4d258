// accounts.cjs: the account flows a person clicks through, in Debian's
// chromium driven by playwright-core, against a running Shop (t/51-browser-
// accounts.t starts it).  Customer: register, the verification link,
// sign in, profile, TOTP enrolment, sign out, sign in with the second
// factor, an API token used from here.  Staff: first sign-in, enrolment
// (the QR image), the staff list, an invitation behind re-authentication.
// A form whose CSRF token was altered in the DOM.
//
//   node accounts.cjs PLAYWRIGHT_CORE_DIR BASE_URL OUT_DIR
//
// It talks to the Python test on stdio, one JSON object a line: it prints
// {"need": "mail", ...} and reads {"link": ...} back (the test reads the
// SMTP double), and ends with {"result": {...}}.  The Python side makes
// the assertions; this side records what it saw, page by page.
'use strict';
const path = require('path');
const readline = require('readline');
const { launch, hotp, step, totp, calm, fresh_step } = require('./common.cjs');
const [pwDir, base, out] = process.argv.slice(2);

const CUST = { email: 'ann@example.com', name: 'Ann', pw: 'tangerine orbit lamp 41' };
const STAFF = { email: 'ada@example.com', pw: process.env.PX_STAFF_PW || '' };
const INVITEE = 'nia@example.com';

// -- stdio to the Python side --
const rl = readline.createInterface({ input: process.stdin });
const lines = rl[Symbol.asyncIterator]();
async function ask(q) {
  process.stdout.write(JSON.stringify(q) + '\n');
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return JSON.parse(value);
}

const res = { console: [], pageerrors: [], csp: [], contrast: [], pages: {}, steps: {}, order: [] };
res.rfc6238 = hotp(Buffer.from('12345678901234567890'), Math.floor(59 / 30), 8);
let page;
let here = 'start';

// Record the page just reached: status, URL, CSP events, sideways overflow
// at a 390px phone viewport, and two screenshots.
async function look(name, resp) {
  here = name;
  await page.waitForLoadState('load');
  const p = {
    status: resp ? resp.status() : null,
    url: page.url().replace(base, ''),
    title: await page.title(),
    h1: (await page.textContent('h1').catch(() => '')) || '',
    cssLoaded: await page.evaluate(() => getComputedStyle(document.body).backgroundColor),
  };
  await page.screenshot({ path: path.join(out, name + '-desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  p.width = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
    wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right >
      window.innerWidth + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className),
  }));
  await page.screenshot({ path: path.join(out, name + '-390.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  // Every visible button must be readable: text against its own background
  // at a WCAG contrast of at least 3 (large/bold UI text).
  res.contrast.push(...(await page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    }).reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
    const bad = [];
    for (const e of document.querySelectorAll('button, a.button, input[type=submit]')) {
      const cs = getComputedStyle(e);
      const bg = rgb(cs.backgroundColor);
      if (e.offsetParent === null || bg.length < 3 || bg[3] === 0) continue;
      const l1 = lum(rgb(cs.color)), l2 = lum(bg);
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      if (ratio < 3) bad.push(e.textContent.trim() + ': ' + cs.color + ' on ' + cs.backgroundColor + ' (' + ratio.toFixed(2) + ')');
    }
    return bad;
  })).map((x) => name + ': ' + x));
  res.csp.push(...(await page.evaluate(() => window.__csp.splice(0))).map((x) => name + ': ' + x));
  res.pages[name] = p;
  res.order.push(name);
  return p;
}

// Click a submit button (or link) and wait for the page it leads to.
async function go(selector) {
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
  return resp;
}
async function open(url) {
  return page.goto(base + url, { waitUntil: 'load' });
}
const main_text = () => page.textContent('main');

async function customer() {
  const st = res.steps;
  // Register.
  await look('register', await open('/register'));
  await page.fill('form[action="/register"] input[name=email]', CUST.email);
  await page.fill('form[action="/register"] input[name=name]', CUST.name);
  await page.fill('form[action="/register"] input[name=password]', CUST.pw);
  await page.check('form[action="/register"] input[name=terms]');
  await look('registered', await go('form[action="/register"] button[type=submit]'));
  st.registered = await main_text();

  // The verification mail, read by the test from the SMTP double.
  const m = await ask({ need: 'mail', to: CUST.email, subject: 'Confirm your email', prefix: '/verify/' });
  st.verify_link = m.link;
  await look('verify', await open(m.link));
  st.verify_button = await page.textContent('form[action^="/verify/"] button');
  await look('verified', await go('form[action^="/verify/"] button[type=submit]'));
  st.verified = await main_text();

  // Sign in.
  await look('login', await open('/login'));
  await page.fill('form[action="/login"] input[name=email]', CUST.email);
  await page.fill('form[action="/login"] input[name=password]', CUST.pw);
  await look('account', await go('form[action="/login"] button[type=submit]'));
  st.account_text = await main_text();

  // The profile form.
  await page.fill('form[action="/account/profile"] input[name=name]', 'Ann Lindqvist');
  await look('account-saved', await go('form[action="/account/profile"] button[type=submit]'));
  st.profile = {
    value: await page.inputValue('form[action="/account/profile"] input[name=name]'),
    header: await page.textContent('.site-header nav a[href="/account"]'),
    notice: await page.textContent('main .alert').catch(() => ''),
  };

  // Two-factor enrolment: the key from the page, the code computed here.
  await look('account-2fa', await open('/account/2fa'));
  const secret = (await page.textContent('code.secret')).trim();
  st.secret_len = secret.replace(/\s/g, '').length;
  st.account_qr = await page.$eval('img.qr', (i) => ({ complete: i.complete, w: i.naturalWidth, h: i.naturalHeight }));
  await calm();
  // The previous step's code, as a person a little slow to type it would
  // send; the server accepts one step of drift and records that step as
  // used, so the sign-in below has a fresh code without waiting 30 s.
  const enrol = step() - 1;
  await page.fill('form[action="/account/2fa/enable"] input[name=password]', CUST.pw);
  await page.fill('form[action="/account/2fa/enable"] input[name=code]', totp(secret, enrol));
  await look('account-codes', await go('form[action="/account/2fa/enable"] button[type=submit]'));
  st.codes = await page.$$eval('ol.codes li code', (els) => els.map((e) => e.textContent.trim()));
  await look('account-2fa-on', await open('/account/2fa'));
  st.totp_on = await main_text();
  await look('account-sessions', await open('/account/sessions'));
  await look('account-delete', await open('/account/delete'));

  // Sign out with the header's button.
  await open('/account');
  await look('signed-out', await go('.site-header form[action="/logout"] button[type=submit]'));
  st.signed_out = {
    signin_link: await page.$('.site-header a[href="/login"]') !== null,
    account_link: await page.$('.site-header a[href="/account"]') !== null,
  };

  // Sign in again: the password, then the second factor.
  await open('/login');
  await page.fill('form[action="/login"] input[name=email]', CUST.email);
  await page.fill('form[action="/login"] input[name=password]', CUST.pw);
  await look('login-2fa', await go('form[action="/login"] button[type=submit]'));
  const now = await fresh_step(enrol);
  st.login_step_fresh = now > enrol;
  await page.fill('form[action="/login/2fa"] input[name=code]', totp(secret, now));
  await look('account-2fa-signed-in', await go('form[action="/login/2fa"] button[type=submit]'));
  st.after_2fa_header = await page.textContent('.site-header nav a[href="/account"]').catch(() => '');

  // An API token, shown once, used from here.
  await look('tokens', await open('/account/tokens'));
  await page.fill('form[action="/account/tokens"] input[name=name]', 'laptop script');
  await page.check('form[action="/account/tokens"] input[name=scope][value=read]');
  await page.fill('form[action="/account/tokens"] input[name=password]', CUST.pw);
  // With 2FA on, a new token also takes a code: a recovery code, since
  // this 30 s step's TOTP code was spent signing in.
  await page.fill('form[action="/account/tokens"] input[name=code]', st.codes[0]);
  await look('token-created', await go('form[action="/account/tokens"] button[type=submit]'));
  const token = await page.inputValue('input.token-value');
  st.token_len = token.length;
  const r = await fetch(base + '/api/v1/me', { headers: { Authorization: 'Bearer ' + token } });
  st.api = { status: r.status, type: r.headers.get('content-type'), body: await r.json().catch(() => null) };
  await look('tokens-list', await open('/account/tokens'));
  st.token_again = (await page.content()).includes(token);
  st.token_rows = await page.$$eval('table.list tbody tr', (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
}

async function staff(ctx) {
  const st = res.steps;
  await ctx.clearCookies();
  await look('admin-login', await open('/admin/login'));
  await page.fill('form[action="/admin/login"] input[name=email]', STAFF.email);
  await page.fill('form[action="/admin/login"] input[name=password]', STAFF.pw);
  await look('admin-setup', await go('form[action="/admin/login"] button[type=submit]'));
  st.admin_qr = await page.$eval('img.qr', (i) => ({
    complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, src: i.getAttribute('src').slice(0, 26),
  }));
  const secret = (await page.textContent('code.secret')).trim();
  await calm();
  const enrol = step() - 1;
  await page.fill('form[action="/admin/2fa/setup"] input[name=code]', totp(secret, enrol));
  await look('admin-codes', await go('form[action="/admin/2fa/setup"] button[type=submit]'));
  st.admin_codes = await page.$$eval('ul.codes li code', (els) => els.map((e) => e.textContent.trim()));
  await look('admin', await go('main a[href="/admin"]'));
  st.admin_nav = await page.$$eval('.site-header nav a', (els) => els.map((e) => e.getAttribute('href')));
  await look('admin-staff', await go('.site-header nav a[href="/admin/staff"]'));
  st.staff_rows = await page.$$eval('table.list tbody tr', (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));

  // Invite: the first try asks to confirm it is you.
  const invite = async () => {
    await page.fill('form[action="/admin/staff/invite"] input[name=email]', INVITEE);
    await page.fill('form[action="/admin/staff/invite"] input[name=name]', 'Nia');
    await page.selectOption('form[action="/admin/staff/invite"] select[name=role]', 'support');
    return go('form[action="/admin/staff/invite"] button[type=submit]');
  };
  await look('admin-reauth', await invite());
  const now = await fresh_step(enrol);
  await page.fill('form[action="/admin/reauth"] input[name=password]', STAFF.pw);
  await page.fill('form[action="/admin/reauth"] input[name=code]', totp(secret, now));
  await look('admin-staff-fresh', await go('form[action="/admin/reauth"] button[type=submit]'));
  st.fresh_hint = await page.$('main a[href^="/admin/reauth"]') !== null;
  await look('admin-invited', await invite());
  st.invited_rows = await page.$$eval('table.list tbody tr', (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
  st.invited_notice = await page.textContent('main .alert').catch(() => '');
}

async function forged(ctx) {
  const st = res.steps;
  await ctx.clearCookies();
  await open('/register');
  await page.fill('form[action="/register"] input[name=email]', 'eve@example.com');
  await page.fill('form[action="/register"] input[name=name]', 'Eve');
  await page.fill('form[action="/register"] input[name=password]', 'a perfectly fine passphrase');
  await page.check('form[action="/register"] input[name=terms]');
  st.csrf_before = await page.evaluate(() => {
    const i = document.querySelector('form[action="/register"] input[name=csrf]');
    const was = i.value;
    i.value = was.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    return was !== i.value;
  });
  here = 'csrf-403';
  await look('csrf-403', await go('form[action="/register"] button[type=submit]'));
  st.csrf_403 = {
    email: await page.inputValue('form[action="/register"] input[name=email]'),
    password: await page.inputValue('form[action="/register"] input[name=password]'),
    text: await main_text(),
  };
}

async function main() {
  const ctx = await launch(pwDir, out);
  page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      const t = m.text();
      (/Content.Security.Policy/i.test(t) ? res.csp : res.console).push(here + ': ' + m.type() + ': ' + t);
    }
  });
  page.on('pageerror', (e) => res.pageerrors.push(here + ': ' + String(e)));
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  try {
    for (const [name, fn] of [['customer', customer], ['staff', staff], ['forged', forged]]) {
      const t0 = Date.now();
      await fn(ctx);
      res.steps[name + '_ms'] = Date.now() - t0;
    }
  } catch (e) {
    res.error = here + ': ' + String(e && e.stack || e);
    await page.screenshot({ path: path.join(out, 'error.png'), fullPage: true }).catch(() => {});
  }
  await ctx.close();
  process.stdout.write(JSON.stringify({ result: res }) + '\n');
  rl.close();
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
