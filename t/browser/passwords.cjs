// passwords.cjs: the strength meter and the Show control of
// public/js/password.js in Debian's chromium (t/68-browser-passwords.t
// starts the system).  Prints one JSON object; the Python test makes the
// assertions.
//
//   node passwords.cjs PLAYWRIGHT_CORE_DIR BASE_URL OUT_DIR
'use strict';
const path = require('path');
const [pwDir, base, out] = process.argv.slice(2);
const { launch } = require('./common.cjs');

async function main() {
  const res = { console: [], pageerrors: [], csp: [], register: {}, login: {}, nojs: {} };
  const browser = await launch(pwDir, out);
  const page = browser.pages()[0] || await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      const t = m.text();
      (/Content.Security.Policy/i.test(t) ? res.csp : res.console).push(m.type() + ': ' + t);
    }
  });
  page.on('pageerror', (e) => res.pageerrors.push(String(e)));
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  const meter = async () => page.evaluate(() => {
    const m = document.querySelector('.pw-meter');
    return m ? { score: m.dataset.score, text: m.querySelector('.pw-meter-text').textContent,
      value: m.querySelector('meter').value } : null;
  });

  // The registration form: a new password gets a meter and a toggle.
  const r = await page.goto(base + '/register', { waitUntil: 'load' });
  res.register.status = r.status();
  const pw = 'input[name=password]';
  res.register.toggles = await page.$$eval('.pw-toggle', (b) => b.length);
  res.register.empty = await meter();
  await page.fill(pw, 'short');
  res.register.short = await meter();
  // Twelve emoji are twelve characters, as the server counts them.
  await page.fill(pw, '\u{1F600}'.repeat(12));
  res.register.emoji = await meter();
  await page.fill(pw, 'tangerine lighthouse 4471 Q');
  res.register.long = await meter();
  res.register.typeBefore = await page.$eval(pw, (i) => i.type);
  await page.click('.pw-toggle');
  res.register.typeShown = await page.$eval(pw, (i) => i.type);
  res.register.valueShown = await page.$eval(pw, (i) => i.value);
  res.register.pressed = await page.$eval('.pw-toggle', (b) => b.getAttribute('aria-pressed'));
  await page.click('.pw-toggle');
  res.register.typeHidden = await page.$eval(pw, (i) => i.type);
  await page.screenshot({ path: path.join(out, 'register.png'), fullPage: true });
  res.csp.push(...await page.evaluate(() => window.__csp));

  // The sign-in form: a current password gets the toggle, no meter.
  await page.goto(base + '/login', { waitUntil: 'load' });
  res.login.toggles = await page.$$eval('.pw-toggle', (b) => b.length);
  res.login.meters = await page.$$eval('.pw-meter', (b) => b.length);
  res.csp.push(...await page.evaluate(() => window.__csp));
  await browser.close();

  // Without JavaScript the form is plain HTML and still registers.
  const { chromium } = require(path.join(pwDir, 'playwright-core'));
  const nojs = await chromium.launchPersistentContext(path.join(out, 'profile-nojs'), {
    executablePath: process.env.PX_CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    javaScriptEnabled: false,
  });
  const p2 = nojs.pages()[0] || await nojs.newPage();
  await p2.goto(base + '/register', { waitUntil: 'load' });
  res.nojs.toggles = await p2.$$eval('.pw-toggle', (b) => b.length);
  await p2.fill('input[name=email]', 'nojs@example.com');
  await p2.fill('input[name=name]', 'No Script');
  await p2.fill('input[name=password]', 'tangerine lighthouse 4471 Q');
  await p2.check('input[name=terms]');
  await Promise.all([p2.waitForNavigation(), p2.click('form button[type=submit]')]);
  res.nojs.after = await p2.textContent('main');
  await nojs.close();
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
