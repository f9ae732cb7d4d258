// password.js: a strength meter on new-password fields and a "Show"
// control on every password field (issue 16, ASVS V2.1.8, V2.1.12).
// Loaded with <script src defer> from the layout: no inline script, so
// the Content-Security-Policy (script-src 'self') allows it.  The forms
// work the same without it; the server stays the judge of every rule
// (password.c: 12 to 128 characters counted as code points after NFKC,
// the common-password list, not the email address).  This only mirrors
// the length rule and gives a rough hint; the list stays server-side.
'use strict';
(function () {
  var MIN = 12, MAX = 128;

  // Code points after NFKC, as the server counts them.
  function length(v) {
    try { v = v.normalize('NFKC'); } catch (e) { /* old browsers: as typed */ }
    return Array.from(v).length;
  }

  // 0..4 from length and the kinds of characters used.
  function score(v) {
    var n = length(v), kinds = 0;
    if (n < MIN || n > MAX) return 0;
    if (/[a-z]/.test(v)) kinds++;
    if (/[A-Z]/.test(v)) kinds++;
    if (/[0-9]/.test(v)) kinds++;
    if (/[^A-Za-z0-9]/.test(v)) kinds++;
    if (/^(.)\1*$/.test(v)) return 1;
    var s = 1 + (n >= 16 ? 1 : 0) + (n >= 20 ? 1 : 0) + (kinds >= 3 ? 1 : 0);
    return Math.min(4, s);
  }

  var WORDS = ['too short', 'weak', 'fair', 'good', 'strong'];

  function meter(input) {
    var box = document.createElement('span');
    box.className = 'pw-meter';
    var bar = document.createElement('meter');
    bar.min = 0;
    bar.max = 4;
    bar.low = 2;
    bar.high = 3;
    bar.optimum = 4;
    bar.value = 0;
    var text = document.createElement('span');
    text.className = 'pw-meter-text';
    text.setAttribute('aria-live', 'polite');
    box.appendChild(bar);
    box.appendChild(text);
    input.insertAdjacentElement('afterend', box);
    bar.id = (input.id || input.name) + '-meter';
    input.setAttribute('aria-describedby', text.id = bar.id + '-text');
    function update() {
      var v = input.value, n = length(v), sc = score(v);
      bar.value = sc;
      box.dataset.score = String(sc);
      if (v === '') text.textContent = 'At least ' + MIN + ' characters.';
      else if (n < MIN) text.textContent = 'Too short: ' + n + ' of at least ' + MIN + ' characters.';
      else if (n > MAX) text.textContent = 'Too long: ' + n + ' of at most ' + MAX + ' characters.';
      else text.textContent = 'Strength: ' + WORDS[sc] + ' (' + n + ' characters).';
    }
    input.addEventListener('input', update);
    update();
  }

  function toggle(input) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'button button-small pw-toggle';
    b.textContent = 'Show';
    b.setAttribute('aria-pressed', 'false');
    b.setAttribute('aria-label', 'Show password');
    b.addEventListener('click', function () {
      var show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      b.textContent = show ? 'Hide' : 'Show';
      b.setAttribute('aria-pressed', show ? 'true' : 'false');
      b.setAttribute('aria-label', show ? 'Hide password' : 'Show password');
      input.focus();
    });
    input.insertAdjacentElement('afterend', b);
    // Never send the form with the password shown in a text field's
    // autocomplete history: hide it again on submit.
    if (input.form) input.form.addEventListener('submit', function () { input.type = 'password'; });
  }

  function init() {
    var list = document.querySelectorAll('input[type=password]');
    for (var i = 0; i < list.length; i++) {
      var input = list[i];
      if (input.autocomplete === 'new-password' || input.hasAttribute('data-strength')) meter(input);
      toggle(input);
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
