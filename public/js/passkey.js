/*
 * passkey.js: the browser side of passkeys (page_passkey.c).  A form
 * marked data-passkey="create" or "get" asks its data-options address
 * for the WebAuthn options (JSON, base64url for binary), runs
 * navigator.credentials.create/get, puts the result as base64url JSON
 * into the form's "credential" field and submits the form as usual:
 * the server answers with a page, as for any form.  Loaded with
 * script-src 'self'; no inline script, no code made from strings.  Forms marked "get"
 * stay hidden where the browser has no WebAuthn.
 */
(function () {
	"use strict";

	function b64uToBuf(s) {
		var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
		var a = new Uint8Array(b.length);
		for (var i = 0; i < b.length; i++)
			a[i] = b.charCodeAt(i);
		return a.buffer;
	}

	function bufToB64u(buf) {
		var a = new Uint8Array(buf), s = "";
		for (var i = 0; i < a.length; i++)
			s += String.fromCharCode(a[i]);
		return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
	}

	function idsToBuf(list) {
		return (list || []).map(function (c) {
			return { type: c.type, id: b64uToBuf(c.id) };
		});
	}

	function toJSON(cred) {
		var r = cred.response, out = {
			id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type,
			response: { clientDataJSON: bufToB64u(r.clientDataJSON) }
		};
		if (r.attestationObject)
			out.response.attestationObject = bufToB64u(r.attestationObject);
		if (r.authenticatorData) {
			out.response.authenticatorData = bufToB64u(r.authenticatorData);
			out.response.signature = bufToB64u(r.signature);
			if (r.userHandle && r.userHandle.byteLength)
				out.response.userHandle = bufToB64u(r.userHandle);
		}
		return JSON.stringify(out);
	}

	function say(form, msg) {
		var st = form.querySelector("[data-passkey-status]");
		if (st)
			st.textContent = msg;
	}

	function run(form) {
		var mode = form.getAttribute("data-passkey");
		var csrf = form.querySelector("input[name=csrf]").value;

		say(form, "Waiting for your passkey…");
		return fetch(form.getAttribute("data-options"), {
			method: "POST", credentials: "same-origin",
			headers: { "Content-Type": "application/x-www-form-urlencoded" },
			body: "csrf=" + encodeURIComponent(csrf)
		}).then(function (res) {
			if (!res.ok)
				throw new Error("The server refused to start (" + res.status + ").");
			return res.text();
		}).then(function (text) {
			var opt = JSON.parse(text);
			var pk = opt.publicKey;
			pk.challenge = b64uToBuf(pk.challenge);
			if (mode === "create") {
				pk.user.id = b64uToBuf(pk.user.id);
				pk.excludeCredentials = idsToBuf(pk.excludeCredentials);
				return navigator.credentials.create({ publicKey: pk });
			}
			if (pk.allowCredentials)
				pk.allowCredentials = idsToBuf(pk.allowCredentials);
			return navigator.credentials.get({ publicKey: pk });
		}).then(function (cred) {
			form.querySelector("input[name=credential]").value = toJSON(cred);
			say(form, "");
			form.submit();
		}).catch(function (e) {
			say(form, (e && e.name === "NotAllowedError") ?
			    "The passkey was not used (cancelled or timed out)." :
			    (e && e.name === "InvalidStateError") ?
			    "This authenticator already holds a passkey for this account." :
			    "The passkey did not work: " + (e && e.message ? e.message : e));
		});
	}

	function init() {
		var ok = !!(window.PublicKeyCredential && navigator.credentials);
		var forms = document.querySelectorAll("form[data-passkey]");
		for (var i = 0; i < forms.length; i++) {
			(function (form) {
				if (!ok) {
					say(form, "This browser cannot use passkeys.");
					return;
				}
				form.hidden = false;
				form.addEventListener("submit", function (ev) {
					ev.preventDefault();
					/* The browser's own checks first (name, password). */
					if (form.reportValidity && !form.reportValidity())
						return;
					run(form);
				});
			})(forms[i]);
		}
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", init);
	else
		init();
})();
