// shop.cjs: drives Debian's chromium through playwright-core over the
// public pages of a running Stack (t/50-browser.t starts it).  Prints one
// JSON object with what it saw; the Python test makes the assertions.
//
//   node shop.cjs PLAYWRIGHT_CORE_DIR BASE_URL OUT_DIR
'use strict';
const path = require('path');
const [pwDir, base, out] = process.argv.slice(2);
const { launch } = require('./common.cjs');

async function main() {
  const res = { console: [], pageerrors: [], csp: [], pages: {}, filter: {}, widths: {} };
  const browser = await launch(pwDir, out);
  const page = browser.pages()[0] || await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      const t = m.text();
      (/Content.Security.Policy/i.test(t) ? res.csp : res.console).push(m.type() + ': ' + t);
    }
  });
  page.on('pageerror', (e) => res.pageerrors.push(String(e)));
  // CSP violations also reach the page as events; collect them there.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  const visit = async (name, url) => {
    const r = await page.goto(base + url, { waitUntil: 'load' });
    const p = {
      status: r.status(),
      title: await page.title(),
      cssLoaded: await page.evaluate(() => getComputedStyle(document.body).backgroundColor),
      csp: await page.evaluate(() => window.__csp),
    };
    res.csp.push(...p.csp);
    await page.screenshot({ path: path.join(out, name + '-desktop.png'), fullPage: true });
    res.pages[name] = p;
    return p;
  };

  await visit('home', '/');
  await visit('plans', '/plans');

  // The filter: pick options in the form and submit it as a person would.
  await page.selectOption('select[name=protocol]', 'vless');
  await page.selectOption('select[name=sort]', 'price');
  await Promise.all([page.waitForNavigation(), page.click('form.filters button[type=submit]')]);
  res.filter.url = page.url();
  res.filter.count = await page.textContent('.count');
  res.filter.badges = await page.$$eval('.card.plan .badge', (els) => els.map((e) => e.textContent.trim()));
  res.filter.prices = await page.$$eval('.card.plan .price strong', (els) => els.map((e) => e.textContent.trim()));
  res.filter.selected = await page.$eval('select[name=protocol]', (s) => s.value);
  res.filter.csp = await page.evaluate(() => window.__csp);
  res.csp.push(...res.filter.csp);
  await page.screenshot({ path: path.join(out, 'filtered-desktop.png'), fullPage: true });

  // Open the first plan of the result.
  const href = await page.$eval('.card.plan h3 a', (a) => a.getAttribute('href'));
  res.plan_href = href;
  await visit('plan', href);
  res.plan_h1 = await page.textContent('h1');

  // A phone-sized viewport: nothing may overflow sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [name, url] of [['home', '/'], ['plans', '/plans'], ['filtered', '/plans?protocol=vless&sort=price'],
    ['plan', href]]) {
    await page.goto(base + url, { waitUntil: 'load' });
    res.widths[name] = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
      wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right >
        window.innerWidth + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className),
    }));
    res.csp.push(...await page.evaluate(() => window.__csp));
    await page.screenshot({ path: path.join(out, name + '-390.png'), fullPage: true });
  }
  await browser.close();
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
