// common.cjs: what the browser scripts share: Debian's chromium launched
// through playwright-core with the flags this machine needs, and TOTP
// (RFC 4226 / RFC 6238) computed here, as an authenticator app would.
//
//   const { launch, totp, step, calm, fresh_step, hotp } = require('./common.cjs');
'use strict';
const path = require('path');
const crypto = require('crypto');
const fs = require('fs');

// A persistent context in OUT/profile, 1280x900; the flags keep chromium
// off the network (this machine's is closed) and out of the sandbox (root).
async function launch(pwDir, out) {
  const { chromium } = require(path.join(pwDir, 'playwright-core'));
  return chromium.launchPersistentContext(path.join(out, 'profile'), {
    executablePath: process.env.PX_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
}

function b32decode(s) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, val = 0;
  const outb = [];
  for (const ch of s.replace(/[\s=]/g, '').toUpperCase()) {
    const i = abc.indexOf(ch);
    if (i < 0) throw new Error('not base32: ' + ch);
    val = (val << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      outb.push((val >>> bits) & 0xff);
    }
  }
  return Buffer.from(outb);
}
function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = crypto.createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 15;
  const v = (h.readUInt32BE(o) & 0x7fffffff) % 10 ** digits;
  return String(v).padStart(digits, '0');
}
// The test clock (Stack.advance in t/lib/px.py): PX_CLOCK_FILE holds the
// seconds that every 1000proxy process of the stack adds to the wall
// clock.  The file is the one truth: read it at every use, and move the
// clock by rewriting it (whole, by a rename), never by sleeping.
function offset() {
  const f = process.env.PX_CLOCK_FILE;
  if (!f) throw new Error('PX_CLOCK_FILE is not set: the test clock is unknown');
  try {
    return parseInt(fs.readFileSync(f, 'utf8'), 10) || 0;
  } catch (e) {
    if (e.code === 'ENOENT') return 0;
    throw e;
  }
}
const now = () => Date.now() / 1000 + offset();
function advance(seconds) {
  const f = process.env.PX_CLOCK_FILE;
  fs.writeFileSync(f + '.tmp', String(offset() + Math.ceil(seconds)) + '\n');
  fs.renameSync(f + '.tmp', f);
}
const step = () => Math.floor(now() / 30);
const totp = (secret, s) => hotp(b32decode(secret), s);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Keep clear of a step boundary, so "the previous step" stays one step back
// by the time the server checks it: move the clock past a near one.
async function calm() {
  const left = 30 - (now() % 30);
  if (left < 3) advance(left + 1);
}
// A step later than `used` (the server refuses a step twice): now, or
// the next one after moving the clock to it.
async function fresh_step(used) {
  if (step() <= used) advance((used + 1) * 30 - now() + 1);
  return step();
}

module.exports = { launch, b32decode, hotp, step, totp, sleep, calm, fresh_step };
