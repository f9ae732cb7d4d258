// passkeys.cjs: passkeys in Debian's chromium with the DevTools virtual
// authenticator (CDP WebAuthn.addVirtualAuthenticator: CTAP2, internal,
// resident keys, user verification), against a running Shop whose
// base_url is http://localhost:PORT (t/59-browser-passkeys.t starts it:
// WebAuthn needs a secure context and a domain as RP ID, and localhost
// is both).  Customer: sign in with the password, add a passkey at
// /account/passkeys, sign out, sign in with the passkey.  Staff: sign in,
// enrol TOTP, add a passkey (password and code), sign out, sign in with
// the passkey.  public/js/passkey.js does the work in the page.
//
//   node passkeys.cjs PLAYWRIGHT_CORE_DIR BASE_URL OUT_DIR
//
// Prints {"result": {...}}; the Python side makes the assertions.
'use strict';
const path = require('path');
const { launch, step, totp, calm, fresh_step } = require('./common.cjs');
const [pwDir, base, out] = process.argv.slice(2);

const CUST = { email: 'pia@example.com', pw: process.env.PX_CUST_PW || '' };
const STAFF = { email: 'ada@example.com', pw: process.env.PX_STAFF_PW || '' };

const res = { console: [], pageerrors: [], csp: [], pages: {}, steps: {} };
let page;
let here = 'start';

async function look(name, resp) {
  here = name;
  await page.waitForLoadState('load');
  res.pages[name] = {
    status: resp ? resp.status() : null,
    url: page.url().replace(base, ''),
    // $eval answers at once: textContent() would wait for a missing one.
    h1: await page.$eval('h1', (e) => e.textContent).catch(() => ''),
    alert: await page.$eval('main .alert', (e) => e.textContent).catch(() => ''),
  };
  res.csp.push(...(await page.evaluate(() => window.__csp.splice(0))).map((x) => name + ': ' + x));
  await page.screenshot({ path: path.join(out, name + '.png'), fullPage: true });
  return res.pages[name];
}
async function go(selector) {
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
  return resp;
}
const open = (url) => page.goto(base + url, { waitUntil: 'load' });

async function credentials(cdp, id) {
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: id });
  return credentials.map((c) => ({ resident: c.isResidentCredential, rpId: c.rpId, count: c.signCount }));
}

async function customer(ctx, cdp, auth) {
  const st = res.steps;
  await look('login', await open('/login'));
  st.login_passkey_visible = await page.isVisible('form[action="/login/passkey"] button');
  await page.fill('form[action="/login"] input[name=email]', CUST.email);
  await page.fill('form[action="/login"] input[name=password]', CUST.pw);
  await look('account', await go('form[action="/login"] button[type=submit]'));
  await look('passkeys', await open('/account/passkeys'));
  await page.fill('form[action="/account/passkeys"] input[name=name]', 'chromium');
  await page.fill('form[action="/account/passkeys"] input[name=password]', CUST.pw);
  await look('passkey-added', await go('form[action="/account/passkeys"] button[type=submit]'));
  st.rows = await page.$$eval('table.list tbody tr', (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
  st.creds_after_add = await credentials(cdp, auth);
  await look('signed-out', await go('.site-header form[action="/logout"] button[type=submit]'));
  await look('login-again', await open('/login'));
  await look('passkey-signed-in', await go('form[action="/login/passkey"] button[type=submit]'));
  st.header_after = await page.textContent('.site-header').catch(() => '');
  st.creds_after_signin = await credentials(cdp, auth);
}

async function staff(ctx, cdp, auth) {
  const st = res.steps;
  // One discoverable credential per RP on the authenticator: with two,
  // chromium asks which account to use, a dialog no headless run answers.
  await cdp.send('WebAuthn.clearCredentials', { authenticatorId: auth });
  await ctx.clearCookies();
  await look('admin-login', await open('/admin/login'));
  await page.fill('form[action="/admin/login"] input[name=email]', STAFF.email);
  await page.fill('form[action="/admin/login"] input[name=password]', STAFF.pw);
  await look('admin-setup', await go('form[action="/admin/login"] button[type=submit]'));
  const secret = (await page.textContent('code.secret')).trim();
  await calm();
  const enrol = step() - 1;
  await page.fill('form[action="/admin/2fa/setup"] input[name=code]', totp(secret, enrol));
  await look('admin-codes', await go('form[action="/admin/2fa/setup"] button[type=submit]'));
  await look('admin-passkeys', await open('/admin/passkeys'));
  const now = await fresh_step(enrol);
  await page.fill('form[action="/admin/passkeys"] input[name=name]', 'chromium staff');
  await page.fill('form[action="/admin/passkeys"] input[name=password]', STAFF.pw);
  await page.fill('form[action="/admin/passkeys"] input[name=code]', totp(secret, now));
  await look('admin-passkey-added', await go('form[action="/admin/passkeys"] button[type=submit]'));
  st.admin_rows = await page.$$eval('table.list tbody tr', (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
  await look('admin-signed-out', await go('.site-header form[action="/admin/logout"] button[type=submit]'));
  await look('admin-login-again', await open('/admin/login'));
  await look('admin-passkey-signed-in', await go('form[action="/admin/login/passkey"] button[type=submit]'));
  st.creds_staff = await credentials(cdp, auth);
}

async function main() {
  const ctx = await launch(pwDir, out);
  page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(15000);
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
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    for (const [name, fn] of [['customer', customer], ['staff', staff]]) {
      const t0 = Date.now();
      await fn(ctx, cdp, authenticatorId);
      res.steps[name + '_ms'] = Date.now() - t0;
    }
  } catch (e) {
    res.error = here + ': ' + String(e && e.stack || e);
    await page.screenshot({ path: path.join(out, 'error.png'), fullPage: true }).catch(() => {});
  }
  await ctx.close();
  process.stdout.write(JSON.stringify({ result: res }) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
