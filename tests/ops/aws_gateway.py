"""Loopback AWS gateway for tests: forwards to a moto server, injects throttling/denials, serves what moto lacks.

moto 5.2.5 implements EC2 offerings/spot history and S3, but not Pricing ``GetProducts``, Service Quotas for
``ec2`` (only ``vpc``), EC2 ``DescribeCapacityBlockOfferings`` nor Savings Plans ``DescribeSavingsPlansOfferingRates``:
those are answered here with the real wire protocols (AWS JSON 1.1 with X-Amz-Target; EC2 query XML; rest-json POST
to the operation's path, botocore savingsplans 2019-06-28), paginated with NextToken/MaxResults (nextToken/maxResults).
"""
from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
JSON_OPS = {"AWSPriceListService.GetProducts": "GetProducts",
            "ServiceQuotasV20190624.ListServiceQuotas": "ListServiceQuotas",
            "ServiceQuotasV20190624.GetAWSDefaultServiceQuota": "GetAWSDefaultServiceQuota"}


def savings_rate(instance_type: str, region: str, plan: str, years: int, usd: str, usage: str = "BoxUsage",
                 operation: str = "RunInstances", payment: str = "No Upfront", description: str = "Linux/UNIX",
                 tenancy: str = "shared") -> dict:
    """One SavingsPlanOfferingRate (botocore savingsplans 2019-06-28 shape) for an EC2 instance-hour."""
    prefix = "" if region == "us-east-1" else {"us-west-2": "USW2-", "eu-west-1": "EU-"}.get(region, "XX-")
    return {"savingsPlanOffering": {"offeringId": str(uuid.uuid4()), "paymentOption": payment, "planType": plan,
                                    "durationSeconds": years * 31_536_000, "currency": "USD",
                                    "planDescription": f"{years} year No Upfront {plan} Savings Plan"},
            "rate": usd, "unit": "Hrs", "productType": "EC2", "serviceCode": "AmazonEC2",
            "usageType": f"{prefix}{usage}:{instance_type}", "operation": operation,
            "properties": [{"name": "region", "value": region}, {"name": "instanceType", "value": instance_type},
                           {"name": "instanceFamily", "value": instance_type.split(".")[0]},
                           {"name": "productDescription", "value": description}, {"name": "tenancy", "value": tenancy}]}


def price_item(instance_type: str, region: str, usd: str) -> str:
    """One AmazonEC2 price list item (aws_v1 format) as the Pricing API returns it: a JSON string."""
    sku = uuid.uuid4().hex[:16].upper()
    term = f"{sku}.JRTCKXETXF"
    return json.dumps({
        "product": {"productFamily": "Compute Instance", "sku": sku, "attributes": {
            "instanceType": instance_type, "regionCode": region, "operatingSystem": "Linux", "tenancy": "Shared",
            "preInstalledSw": "NA", "capacitystatus": "Used", "servicecode": "AmazonEC2"}},
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": {term: {"offerTermCode": "JRTCKXETXF", "sku": sku, "effectiveDate": "2026-08-01T00:00:00Z",
                                      "priceDimensions": {f"{term}.6YS6EN2CT7": {
                                          "unit": "Hrs", "beginRange": "0", "endRange": "Inf", "appliesTo": [],
                                          "description": f"${usd} per On Demand Linux {instance_type} Instance Hour",
                                          "pricePerUnit": {"USD": usd}}}, "termAttributes": {}}},
                  "Reserved": {f"{sku}.4NA7Y494T4": {"priceDimensions": {"x": {
                      "unit": "Quantity", "pricePerUnit": {"USD": "1000"}}}}}},
        "version": "20260801000000", "publicationDate": "2026-08-01T00:00:00Z"})


class Gateway:
    """State shared by the handler threads: seeded data, injected failures, call counts."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, str]] = []  # (method, path) in arrival order
        self.fail: dict[str, list] = {}  # op -> [remaining, kind "throttle" | "deny"]
        self.products: list[dict] = []   # {"instanceType", "regionCode", "usd"}
        self.quotas: dict[str, list[dict]] = {}  # region -> Quota dicts
        self.blocks: list[dict] = []     # capacity block offers (with "region")
        self.savings_rates: list[dict] = []  # SavingsPlanOfferingRate dicts as the API returns them
        self.lock = threading.Lock()

    def inject(self, op: str, count: int, kind: str = "throttle") -> None:
        """Fails the next `count` calls of op ("DescribeSpotPriceHistory", "GetProducts", "PUT s3"...);
        kind "throttle", "deny" or "500"."""
        self.fail[op] = [count, kind]

    def take_failure(self, op: str) -> str | None:
        with self.lock:
            self.calls[op] += 1
            entry = self.fail.get(op)
            if entry and entry[0] > 0:
                entry[0] -= 1
                return entry[1]
        return None


def _iso(text: str):
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _page(items: list, token: str | None, size: int | None) -> tuple[list, str | None]:
    start = int(token or 0)
    end = start + (size or len(items) or 1)
    return items[start:end], (str(end) if end < len(items) else None)


class Handler(BaseHTTPRequestHandler):
    """Dispatches one request: failure injection, local operations, else forward to moto."""

    gateway: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _region(self) -> str:
        auth = self.headers.get("Authorization", "")
        parts = auth.split("Credential=")[-1].split("/")
        return parts[2] if len(parts) > 3 else "us-east-1"

    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        form = urllib.parse.parse_qs(body.decode("latin-1")) if b"Action=" in body[:200] else {}
        op = JSON_OPS.get(target) or (form.get("Action", [None])[0]) or f"{self.command} s3"
        if self.path.split("?")[0] == "/DescribeSavingsPlansOfferingRates":
            op = "DescribeSavingsPlansOfferingRates"
        self.gateway.requests.append((self.command, self.path))
        kind = self.gateway.take_failure(op)
        if kind:
            return self._error(op, kind, bool(target), bool(form))
        if target in JSON_OPS:
            return self._json(JSON_OPS[target], json.loads(body or b"{}"))
        if op == "DescribeCapacityBlockOfferings":
            return self._capacity_blocks(form)
        if op == "DescribeSavingsPlansOfferingRates":
            return self._savings_rates(json.loads(body or b"{}"))
        self._forward(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

    def _error(self, op: str, kind: str, is_json: bool, is_query: bool) -> None:
        if kind == "500":  # an internal server error, in each protocol's error shape
            if is_json:
                payload = json.dumps({"__type": "InternalFailure", "message": f"injected 500 on {op}"}).encode()
                return self._send(500, payload, "application/x-amz-json-1.1")
            xml = (f"<Response><Errors><Error><Code>InternalError</Code><Message>injected 500 on {op}</Message>"
                   f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>") if is_query else \
                f"<Error><Code>InternalError</Code><Message>injected 500</Message><RequestId>1</RequestId></Error>"
            return self._send(500, xml.encode(), "text/xml")
        if is_json:
            code = "ThrottlingException" if kind == "throttle" else "AccessDeniedException"
            payload = json.dumps({"__type": code, "message": f"{code} injected on {op}"}).encode()
            return self._send(400, payload, "application/x-amz-json-1.1")
        if is_query:
            code = "RequestLimitExceeded" if kind == "throttle" else "UnauthorizedOperation"
            xml = (f"<Response><Errors><Error><Code>{code}</Code><Message>{code} injected on {op}</Message>"
                   f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>")
            return self._send(503 if kind == "throttle" else 403, xml.encode(), "text/xml")
        code, status = ("SlowDown", 503) if kind == "throttle" else ("AccessDenied", 403)
        xml = f"<Error><Code>{code}</Code><Message>{code} injected</Message><RequestId>1</RequestId></Error>"
        self._send(status, xml.encode(), "application/xml")

    def _json(self, op: str, request: dict) -> None:
        if op == "GetProducts":
            filters = {f["Field"]: f["Value"] for f in request.get("Filters", [])}
            rows = [p for p in self.gateway.products
                    if all(str(p.get(k, v)) == v for k, v in filters.items() if k in ("instanceType", "regionCode"))]
            items, token = _page(rows, request.get("NextToken"), request.get("MaxResults"))
            reply = {"FormatVersion": "aws_v1", "PriceList": [price_item(p["instanceType"], p["regionCode"], p["usd"])
                                                              for p in items]}
        elif op == "ListServiceQuotas":
            items, token = _page(self.gateway.quotas.get(self._region(), []), request.get("NextToken"),
                                 request.get("MaxResults"))
            reply = {"Quotas": items}
        else:  # GetAWSDefaultServiceQuota for a code nobody applied: the real API answers NoSuchResource
            payload = json.dumps({"__type": "NoSuchResourceException", "Message": "no such quota"}).encode()
            return self._send(400, payload, "application/x-amz-json-1.1")
        if token:
            reply["NextToken"] = token
        self._send(200, json.dumps(reply).encode(), "application/x-amz-json-1.1")

    def _savings_rates(self, request: dict) -> None:
        """Filters like the API: plan types, payment options, products, service codes, and property filters
        (every filter's values must contain the rate's property of that name)."""
        def wanted(rate: dict) -> bool:
            offer, props = rate["savingsPlanOffering"], {p["name"]: p["value"] for p in rate["properties"]}
            return (offer["planType"] in request.get("savingsPlanTypes", [offer["planType"]])
                    and offer["paymentOption"] in request.get("savingsPlanPaymentOptions", [offer["paymentOption"]])
                    and rate["productType"] in request.get("products", [rate["productType"]])
                    and rate["serviceCode"] in request.get("serviceCodes", [rate["serviceCode"]])
                    and all(props.get(f["name"]) in f["values"] for f in request.get("filters", [])))
        items, token = _page([r for r in self.gateway.savings_rates if wanted(r)], request.get("nextToken"),
                             request.get("maxResults"))
        payload = {"searchResults": items, **({"nextToken": token} if token else {})}
        self._send(200, json.dumps(payload).encode(), "application/json")

    def _capacity_blocks(self, form: dict) -> None:
        """Filters like the API: type, count, duration, StartDateRange (earliest start), EndDateRange (latest end)."""
        def wanted(b: dict) -> bool:
            first = form.get("StartDateRange", [None])[0]
            last = form.get("EndDateRange", [None])[0]
            return (b["region"] == self._region() and b["instance_type"] == form.get("InstanceType", [""])[0]
                    and str(b["count"]) == form.get("InstanceCount", [str(b["count"])])[0]
                    and str(b["hours"]) == form.get("CapacityDurationHours", [str(b["hours"])])[0]
                    and (first is None or _iso(b["start"]) >= _iso(first))
                    and (last is None or _iso(b["end"]) <= _iso(last)))
        rows = [dict(b, id=b.get("id", f"cb-{n:017x}")) for n, b in enumerate(self.gateway.blocks) if wanted(b)]
        items, token = _page(rows, form.get("NextToken", [None])[0], int(form.get("MaxResults", ["0"])[0]) or None)
        body = "".join(
            f"<item><capacityBlockOfferingId>{b['id']}</capacityBlockOfferingId><instanceType>{b['instance_type']}"
            f"</instanceType><availabilityZone>{b['zone']}</availabilityZone><instanceCount>{b['count']}"
            f"</instanceCount><startDate>{b['start']}</startDate><endDate>{b['end']}</endDate>"
            f"<capacityBlockDurationHours>{b['hours']}</capacityBlockDurationHours><upfrontFee>{b['fee']}"
            f"</upfrontFee><currencyCode>USD</currencyCode><tenancy>default</tenancy></item>"
            for b in items)
        nxt = f"<nextToken>{escape(token)}</nextToken>" if token else ""
        xml = (f'<DescribeCapacityBlockOfferingsResponse xmlns="{EC2_NS}"><requestId>{uuid.uuid4()}</requestId>'
               f"<capacityBlockOfferingSet>{body}</capacityBlockOfferingSet>{nxt}</DescribeCapacityBlockOfferingsResponse>")
        self._send(200, xml.encode(), "text/xml;charset=UTF-8")

    def _forward(self, body: bytes) -> None:
        conn = http.client.HTTPConnection(self.gateway.upstream.hostname, self.gateway.upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        reply = conn.getresponse()
        payload = reply.read()
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                self.send_header(key, value)
        length = reply.getheader("Content-Length") if self.command == "HEAD" else str(len(payload))
        self.send_header("Content-Length", length or "0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        conn.close()


def start(upstream: str) -> tuple[ThreadingHTTPServer, Gateway, str]:
    """Starts the gateway on a free 127.0.0.1 port; returns (server, state, endpoint URL)."""
    gateway = Gateway(upstream)
    handler = type("BoundHandler", (Handler,), {"gateway": gateway})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, gateway, f"http://127.0.0.1:{server.server_address[1]}"
