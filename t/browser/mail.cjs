// mail.cjs: the demo's mail journey a newcomer clicks through (README's
// quick start), in Debian's chromium driven by playwright-core, against a
// shop configured as ./quickstart demo configures it (t/58-browser-mail.t
// starts it: the SMTP sink, demo = yes).  A customer registers, the test
// reads the message from the sink's .eml file, the browser follows its
// link, confirms and signs in.  A second customer registers; staff sign in
// with a TOTP code from oathtool (the README's way without an app), open
// that message in the mail log (/admin/mail), whose body shows the link
// masked (issue 16: a credential never sits in the jobs table in clear),
// then the link is read from the sink's .eml file, followed, and the
// customer signs in.
//
//   node mail.cjs PLAYWRIGHT_CORE_DIR BASE_URL OUT_DIR
//
// One JSON object a line on stdio: it prints {"need": ...} and reads the
// answer back ("eml": the verification link from the sink's file; "totp":
// oathtool's code for a key), and ends with {"result": {...}}.  The Python
// side makes the assertions; this side records what it saw.
'use strict';
const path = require('path');
const readline = require('readline');
const { launch } = require('./common.cjs');
const [pwDir, base, out] = process.argv.slice(2);

const A = { email: 'noor@example.com', name: 'Noor', pw: 'saffron ladder comet 28' };
const B = { email: 'olek@example.com', name: 'Olek', pw: 'walnut glacier tram 93' };
const STAFF = { email: 'sam@example.com', pw: process.env.PX_STAFF_PW || '' };

const rl = readline.createInterface({ input: process.stdin });
const lines = rl[Symbol.asyncIterator]();
async function ask(q) {
  process.stdout.write(JSON.stringify(q) + '\n');
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return JSON.parse(value);
}

const res = { console: [], pageerrors: [], csp: [], pages: {}, steps: {} };
let page;
let here = 'start';

async function look(name, resp) {
  here = name;
  await page.waitForLoadState('load');
  res.pages[name] = {
    status: resp ? resp.status() : null,
    url: page.url().replace(base, ''),
    h1: ((await page.textContent('h1').catch(() => '')) || '').trim(),
  };
  await page.screenshot({ path: path.join(out, name + '.png'), fullPage: true });
  res.csp.push(...(await page.evaluate(() => window.__csp.splice(0))).map((x) => name + ': ' + x));
  return res.pages[name];
}
async function go(selector) {
  const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
  return resp;
}
const open = (url) => page.goto(url.startsWith('http') ? url : base + url, { waitUntil: 'load' });
const main_text = async () => ((await page.textContent('main')) || '').replace(/\s+/g, ' ').trim();

async function register(who, tag) {
  await look(tag + '-register', await open('/register'));
  await page.fill('form[action="/register"] input[name=email]', who.email);
  await page.fill('form[action="/register"] input[name=name]', who.name);
  await page.fill('form[action="/register"] input[name=password]', who.pw);
  await page.check('form[action="/register"] input[name=terms]');
  await look(tag + '-registered', await go('form[action="/register"] button[type=submit]'));
  return main_text();
}

// Open the verification link, confirm, sign in: where does the customer land?
async function verify_and_sign_in(who, tag, link) {
  await look(tag + '-verify', await open(link));
  await look(tag + '-verified', await go('form[action^="/verify/"] button[type=submit]'));
  const verified = await main_text();
  await look(tag + '-login', await open('/login'));
  await page.fill('form[action="/login"] input[name=email]', who.email);
  await page.fill('form[action="/login"] input[name=password]', who.pw);
  await look(tag + '-account', await go('form[action="/login"] button[type=submit]'));
  return { verified, account: await main_text() };
}

async function customer(ctx) {
  const st = res.steps;
  st.a_registered = await register(A, 'a');
  // The newcomer opens the newest .demo/mail/*.eml: the test reads it.
  const m = await ask({ need: 'eml', to: A.email });
  st.a_link = m.link;
  Object.assign(st, { a: await verify_and_sign_in(A, 'a', m.link) });
  await ctx.clearCookies();
  st.b_registered = await register(B, 'b');
}

async function staff(ctx) {
  const st = res.steps;
  await ctx.clearCookies();
  await look('staff-login', await open('/admin/login'));
  await page.fill('form[action="/admin/login"] input[name=email]', STAFF.email);
  await page.fill('form[action="/admin/login"] input[name=password]', STAFF.pw);
  await look('staff-setup', await go('form[action="/admin/login"] button[type=submit]'));
  // The key as text beside the QR code: what oathtool is given.
  st.secret = ((await page.textContent('code.secret')) || '').trim();
  st.qr = await page.$eval('img.qr', (i) => ({ complete: i.complete, w: i.naturalWidth }));
  const { code } = await ask({ need: 'totp', secret: st.secret });
  st.totp = code;
  await page.fill('form[action="/admin/2fa/setup"] input[name=code]', code);
  await look('staff-codes', await go('form[action="/admin/2fa/setup"] button[type=submit]'));
  await look('staff-admin', await go('main a[href="/admin"]'));

  // The mail log: B's message, once the sink has it (the test waits).
  const m = await ask({ need: 'sent', to: B.email });
  st.b_job = m.job;
  await look('staff-mail', await open('/admin/mail?to=' + encodeURIComponent(B.email)));
  st.mail_rows = await page.$$eval('table.list tbody tr', (els) => els.map((e) => ({
    id: e.getAttribute('data-mail'), state: e.getAttribute('data-state'),
    text: e.textContent.replace(/\s+/g, ' ').trim(),
  })));
  await look('staff-mail-one', await go('table.list tbody tr[data-mail="' + m.job + '"] a[href="/admin/mail/' + m.job + '"]'));
  st.mail_one = {
    to: ((await page.textContent('.mail-to').catch(() => '')) || '').trim(),
    msgid: ((await page.textContent('.mail-msgid').catch(() => '')) || '').trim(),
    answer: ((await page.textContent('.mail-answer').catch(() => '')) || '').trim(),
    body: (await page.textContent('pre.mail-body').catch(() => '')) || '',
  };
  // The body shows the link masked (its token cut to four characters):
  // the live one is only in the mail itself.
  st.b_masked = (st.mail_one.body.match(/https?:\/\/\S+\/verify\/[A-Za-z0-9_-]{4}\.\.\./) || [])[0] || null;
  const { link } = await ask({ need: 'eml', to: B.email });
  st.b_link = link || null;
  if (!link) throw new Error('no verification link in the .eml');
  await ctx.clearCookies();
  Object.assign(st, { b: await verify_and_sign_in(B, 'b', link) });
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
    await customer(ctx);
    await staff(ctx);
  } catch (e) {
    res.error = here + ': ' + String(e && e.stack || e);
    await page.screenshot({ path: path.join(out, 'error.png'), fullPage: true }).catch(() => {});
  }
  await ctx.close();
  process.stdout.write(JSON.stringify({ result: res }) + '\n');
  rl.close();
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
