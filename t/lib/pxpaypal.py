"""pxpaypal.py: start and drive t/lib/paypal_double.py from a test.

    pp = PayPalDouble(tmpdir, webhook="http://127.0.0.1:PORT/webhooks/paypal")
    pp.url            http://127.0.0.1:PORT (paypal_api_url)
    pp.ca             the double's CA (paypal_ca_file, gateway_ca_file)
    pp.cert_url(s)    where the signing certificate s (good|badcn|rogue) is
    pp.ctl(what, **body)   POST /_double/WHAT, the JSON reply
    pp.state()        GET /_double/state
    pp.stop()
"""
import json
import os
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


class PayPalDouble:
    def __init__(self, tmpdir, webhook=None, webhook_id="WH-ID-PX-TEST", client_id="px-client",
                 client_secret="px-secret", auto_webhooks=False, extra=()):
        self.dir = os.path.join(tmpdir, "paypal-double")
        os.makedirs(self.dir, exist_ok=True)
        self.webhook_id, self.client_id, self.client_secret = webhook_id, client_id, client_secret
        args = [sys.executable, os.path.join(HERE, "paypal_double.py"), "--port", "0",
                "--dir", os.path.join(self.dir, "pki"), "--webhook-id", webhook_id,
                "--client-id", client_id, "--client-secret", client_secret]
        if webhook:
            args += ["--webhook", webhook]
        if auto_webhooks:
            args.append("--auto-webhooks")
        self.log = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.p = subprocess.Popen(args + list(extra), stdout=subprocess.PIPE, stderr=self.log)
        line = self.p.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError("paypal_double.py did not start: %r (see %s)" % (line, self.log.name))
        self.port = int(line)
        self.url = "http://127.0.0.1:%d" % self.port
        self.ca = os.path.join(self.dir, "pki", "ca.pem")
        self.pki = os.path.join(self.dir, "pki")

    def cert_url(self, signer="good", host="127.0.0.1"):
        return "https://%s:%d/v1/notifications/certs/CERT-%s" % (host, self.port, signer)

    def ctl(self, what, **body):
        req = urllib.request.Request(self.url + "/_double/" + what, data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def state(self):
        with urllib.request.urlopen(self.url + "/_double/state", timeout=30) as r:
            return json.loads(r.read())

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
