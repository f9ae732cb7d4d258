// nowpay_sign.cjs: the independent signer of NOWPayments IPNs for the
// tests (issue 13), written from NOWPayments' documented Node recipe and
// nothing of ours: Node's crypto over
// JSON.stringify(sortObject(JSON.parse(body))), hex HMAC-SHA512 keyed
// with the IPN secret.  (The doc's sortObject turns an array into an
// object of its indexes; the bodies the tests sign have no arrays, and
// the shop keeps arrays as arrays: contracts/payments.md 3.1.4.)
//
//   node nowpay_sign.cjs SECRET < body          print the signature
//   node nowpay_sign.cjs --canon < body         print the canonical text
//   node nowpay_sign.cjs --legacy SECRET < body the older recipe (a
//                                               replacer array: nested
//                                               objects become {})
//   node nowpay_sign.cjs --lines                one JSON object per input
//        line, {"secret": S, "body": B} or {"secret": S, "object": O}
//        (then the body is JSON.stringify(O), as a Node sender writes
//        it), with "legacy": true for the older recipe; one JSON object
//        per output line, {"body": B, "sig": HEX} or {"error": MSG}
//        (the NOWPayments double keeps one running)
'use strict';
const crypto = require('crypto');

function sortObject(obj) {
	return Object.keys(obj).sort().reduce((result, key) => {
		result[key] = (obj[key] && typeof obj[key] === 'object') ? sortObject(obj[key]) : obj[key];
		return result;
	}, {});
}

function canon(body) {
	return JSON.stringify(sortObject(JSON.parse(body)));
}

function legacyCanon(body) {
	const params = JSON.parse(body);
	return JSON.stringify(params, Object.keys(params).sort());
}

function sign(secret, text) {
	return crypto.createHmac('sha512', secret.trim()).update(text).digest('hex');
}

function readStdin() {
	return require('fs').readFileSync(0, 'utf8');
}

const argv = process.argv.slice(2);
if (argv[0] === '--lines') {
	const rl = require('readline').createInterface({ input: process.stdin });
	rl.on('line', (line) => {
		let out;
		try {
			const m = JSON.parse(line);
			const body = typeof m.body === 'string' ? m.body : JSON.stringify(m.object);
			out = { body: body, sig: sign(m.secret, m.legacy ? legacyCanon(body) : canon(body)) };
		} catch (e) {
			out = { error: e.message };
		}
		process.stdout.write(JSON.stringify(out) + '\n');
	});
} else if (argv[0] === '--canon') {
	process.stdout.write(canon(readStdin()));
} else if (argv[0] === '--legacy' && argv.length === 2) {
	process.stdout.write(sign(argv[1], legacyCanon(readStdin())) + '\n');
} else if (argv.length === 1) {
	process.stdout.write(sign(argv[0], canon(readStdin())) + '\n');
} else {
	process.stderr.write('usage: nowpay_sign.cjs SECRET | --canon | --legacy SECRET | --lines\n');
	process.exit(2);
}
