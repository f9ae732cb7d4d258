// services.cjs: the customer's proxies in Debian's chromium (playwright-
// core), for t/54-browser-services.t: sign in through the form, buy a
// plan (its page, the cart, checkout paid from the wallet), follow the
// header's Proxies link and reload until the proxy is active (`work`
// provisions it on the panel double meanwhile), open its page, copy the share link
// (select, Ctrl+C, read the clipboard back), decode the QR code (the
// page's SVG drawn on a canvas, its pixels decoded by the npm package
// jsqr in node), and open the subscription URL from the browser (a fetch
// from the page, as the browser sends it) and decode its QR code too.
// On each page: console errors, CSP violations and axe-core's WCAG 2.2
// A/AA findings at 1280px and 390px.
//
//   node services.cjs NODE_MODULES_DIR BASE_URL OUT_DIR
//
// Environment: PX_CUST_EMAIL, PX_CUST_PW (a verified customer without
// 2FA, with money), PX_PLAN (the slug of the plan to buy).  Prints one JSON
// object: {pages: {NAME: {status, axe: {1280, 390}}}, console,
// pageerrors, csp, facts, error}.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch } = require('./common.cjs');
const [nm, base, out] = process.argv.slice(2);
const axeSource = fs.readFileSync(path.join(nm, 'axe-core', 'axe.min.js'), 'utf8');
const jsQR = require(path.join(nm, 'jsqr'));
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const EXTRA = ['heading-order', 'page-has-heading-one', 'landmark-one-main', 'duplicate-id'];

// The pixels of the <img> selector matches, drawn n x n on white, as
// base64 (the page's own canvas: nothing leaves the browser but bytes).
async function pixels(page, selector, n) {
  return page.evaluate(async ([sel, size]) => {
    const img = document.querySelector(sel);
    await img.decode();
    const c = document.createElement('canvas');
    c.width = c.height = size;
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, size, size);
    g.imageSmoothingEnabled = false;
    g.drawImage(img, 0, 0, size, size);
    const d = g.getImageData(0, 0, size, size).data;
    let s = '';
    for (let i = 0; i < d.length; i += 8192) s += String.fromCharCode.apply(null, d.subarray(i, i + 8192));
    return btoa(s);
  }, [selector, n]);
}

async function qr(page, selector) {
  const n = 600;
  const px = new Uint8ClampedArray(Buffer.from(await pixels(page, selector, n), 'base64'));
  const code = jsQR(px, n, n);
  return code ? code.data : null;
}

async function main() {
  const run = { pages: {}, console: [], pageerrors: [], csp: [], facts: {} };
  let here = 'start';
  const ctx = await launch(nm, out);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(10000);
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
    await page.waitForLoadState('load');
    const p = { url: page.url().replace(base, ''), status: resp ? resp.status() : null, axe: {} };
    for (const w of [1280, 390]) {
      await page.setViewportSize(w === 1280 ? { width: 1280, height: 900 } : { width: 390, height: 844 });
      p.axe[w] = await axe();
      await page.screenshot({ path: path.join(out, name + '-' + w + '.png'), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    run.csp.push(...(await page.evaluate(() => window.__csp || [])).map((x) => name + ': ' + x));
    fs.writeFileSync(path.join(out, name + '.html'), await page.content());
    run.pages[name] = p;
    return p;
  }
  try {
    here = 'login';
    await page.goto(base + '/login');
    await page.fill('input[name="email"]', process.env.PX_CUST_EMAIL);
    await page.fill('input[name="password"]', process.env.PX_CUST_PW);
    await Promise.all([page.waitForNavigation(), page.click('main form button[type="submit"]')]);
    run.facts.after_login = page.url().replace(base, '');

    // Buy: the plan's page, "Add to cart", the cart's add form, checkout.
    here = 'buy';
    const go = async (sel) => (await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(sel)]))[0];
    await page.goto(base + '/plans/' + process.env.PX_PLAN, { waitUntil: 'load' });
    await go('main a[href^="/cart/add"], main form[action="/cart/add"] button[type=submit]');
    await go('form[action="/cart/add"] button[type=submit]');
    await page.goto(base + '/checkout', { waitUntil: 'load' });
    await go('form[action="/checkout"] button[type=submit]');
    run.facts.order_url = page.url().replace(base, '');
    run.facts.paid_at = Date.now();

    // The header's "Proxies" link, as a person finds the page; reloaded
    // until the proxy is there (the item says "being set up" meanwhile).
    here = 'services';
    let resp;
    [resp] = await Promise.all([page.waitForNavigation(), page.click('header a[href="/services"]')]);
    run.facts.first_look = (await page.textContent('main')).replace(/\s+/g, ' ');
    let link = null;
    for (let i = 0; i < 150 && !link; i++) {
      link = await page.$('main a[href^="/services/"]');
      if (!link) {
        await page.waitForTimeout(200);
        resp = await page.reload({ waitUntil: 'load' });
      }
    }
    run.facts.active_after_ms = Date.now() - run.facts.paid_at;
    await look('services', resp);
    const href = link ? await link.getAttribute('href') : '/services/0';
    const id = href.split('/').pop();
    run.facts.client = id;
    run.facts.listed = link !== null;
    run.facts.sub_url = await page.$eval('#sub-url', (e) => e.value);
    run.facts.sub_qr = await qr(page, 'img.qr');

    here = 'service';
    [resp] = await Promise.all([page.waitForNavigation(), page.click('main a[href="/services/' + id + '"]')]);
    await look('service', resp);
    run.facts.state = await page.$eval('main .state', (e) => e.textContent.trim());
    run.facts.link = await page.$eval('#share-link', (e) => e.value);
    run.facts.link_hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.getAttribute('href'))
      .filter((h) => /^(vless|vmess|trojan|ss):/.test(h)));
    // Copy as a person does: select the field's text, Ctrl+C.
    await page.click('#share-link');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Control+C');
    run.facts.clipboard = await page.evaluate(() => navigator.clipboard.readText());
    run.facts.qr = await qr(page, '#share-qr');

    // The subscription, fetched by the browser from the page.
    here = 'subscription';
    run.facts.sub = await page.evaluate(async (u) => {
      const r = await fetch(u, { credentials: 'omit' });
      return { status: r.status, userinfo: r.headers.get('subscription-userinfo'),
        disposition: r.headers.get('content-disposition'), body: await r.text() };
    }, run.facts.sub_url);
  } catch (e) {
    run.error = here + ': ' + String(e && e.stack || e);
    await page.screenshot({ path: path.join(out, 'error.png'), fullPage: true }).catch(() => {});
  }
  await ctx.close();
  process.stdout.write(JSON.stringify(run) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
