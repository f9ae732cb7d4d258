"""pxdouble.py: what the gateway doubles' test wrappers share (pxstripe,
pxnowpay): their JSON control routes under /_double/."""
import json
import urllib.error
import urllib.request


class DoubleControl:
    """Mixed into a wrapper that sets self.base (http://127.0.0.1:PORT)."""

    def control(self, what, method="POST", **body):
        """POST (or GET) /_double/WHAT: the JSON reply, or
        {"http_error": code, "body": ...} for an HTTP error."""
        data = json.dumps(body).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + "/_double/" + what, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return {"http_error": e.code, "body": json.loads(e.read() or b"{}")}

    def state(self):
        return self.control("state", method="GET")
