"""Loopback GCP server for tests: the few Compute, Cloud Billing Catalog and GCS JSON API endpoints the ops use.

Responses follow the public REST shapes (compute#acceleratorTypeAggregatedList, compute#region quotas,
cloudbilling SKU list with serviceRegions/pricingInfo, storage#object with base64 md5Hash/crc32c, the resumable
upload protocol with 308 + Range). Aggregated lists and SKU lists paginate (page_size scopes/SKUs per page).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import google_crc32c


class GcpState:
    """Seeded data and recorded calls."""

    def __init__(self) -> None:
        self.zones: dict[str, dict[str, list[str]]] = {}  # zone -> {"accelerators": [...], "machines": [...]}
        self.machine_specs: dict[str, dict] = {}
        self.region_quotas: dict[str, list[dict]] = {}
        self.project_quotas: list[dict] = []
        self.skus: list[dict] = []
        self.page_size = 2
        self.deny: set[str] = set()  # path prefixes answered with 403
        self.missing_buckets: set[str] = set()  # buckets answered 404 on GET /storage/v1/b/<bucket>
        self.fail: dict[str, list[int]] = {}  # path prefix -> [remaining, HTTP status] answered with that error
        self.objects: dict[tuple[str, str], bytes] = {}
        self.sessions: dict[str, dict] = {}
        self.calls: list[str] = []
        self.queries: list[str] = []
        self.lock = threading.Lock()
        self.base = ""


def sku(description: str, group: str, usage: str, regions: list[str], usd: float, unit: str = "h") -> dict:
    """A Compute Engine SKU as services.skus.list returns it."""
    units, nanos = int(usd), round((usd - int(usd)) * 1e9)
    sku_id = uuid.uuid4().hex[:12].upper()
    return {"name": f"services/6F81-5844-456A/skus/{sku_id}", "skuId": sku_id, "description": description,
            "category": {"serviceDisplayName": "Compute Engine", "resourceFamily": "Compute", "resourceGroup": group,
                         "usageType": usage},
            "serviceRegions": regions, "serviceProviderName": "Google",
            "pricingInfo": [{"effectiveTime": "2026-08-01T00:00:00Z", "summary": "", "currencyConversionRate": 1,
                             "pricingExpression": {"usageUnit": unit, "displayQuantity": 1, "baseUnit": "s",
                                                   "baseUnitConversionFactor": 3600,
                                                   "tieredRates": [{"startUsageAmount": 0, "unitPrice": {
                                                       "currencyCode": "USD", "units": str(units), "nanos": nanos}}]}}]}


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class Handler(BaseHTTPRequestHandler):
    """Routes by path."""

    state: GcpState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, payload, headers: dict | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str) -> None:
        status = {403: "PERMISSION_DENIED", 404: "NOT_FOUND", 500: "INTERNAL", 503: "UNAVAILABLE"}.get(
            code, "INVALID_ARGUMENT")
        self._send(code, {"error": {"code": code, "message": message, "status": status,
                                    "errors": [{"message": message, "domain": "global", "reason": "forbidden"}]}})

    def _handle(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.state.calls.append(f"{self.command} {url.path}")
        self.state.queries.append(url.query)
        if any(url.path.startswith(p) for p in self.state.deny):
            return self._error(403, f"Required permission denied on {url.path}")
        for prefix, entry in self.state.fail.items():
            if url.path.startswith(prefix) and entry[0] > 0:
                entry[0] -= 1
                return self._error(entry[1], f"injected HTTP {entry[1]} on {url.path}")
        for pattern, method in ROUTES:
            match = re.fullmatch(pattern, url.path)
            if match and (method.__name__.split("_")[0] == self.command.lower()):
                return method(self, query, body, *[urllib.parse.unquote(g) for g in match.groups()])
        self._error(404, f"no route {self.command} {url.path}")

    do_GET = do_POST = do_PUT = _handle

    # --- Compute Engine ---
    def _aggregated(self, query: dict, kind: str, key: str, items_of) -> None:
        scopes = sorted(self.state.zones)
        start = int(query.get("pageToken") or 0)
        page = scopes[start:start + self.state.page_size]
        items = {}
        for zone in page:
            found = items_of(zone)
            items[f"zones/{zone}"] = {key: found} if found else {"warning": {
                "code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope", "data": [
                    {"key": "scope", "value": f"zones/{zone}"}]}}
        reply = {"kind": kind, "id": "projects/p/aggregated", "items": items, "selfLink": self.state.base}
        if start + self.state.page_size < len(scopes):
            reply["nextPageToken"] = str(start + self.state.page_size)
        self._send(200, reply)

    @staticmethod
    def _names(query: dict) -> set[str]:
        return set(re.findall(r'name = "([^"]+)"', query.get("filter", "")))

    def get_accelerators(self, query, _body, project) -> None:
        wanted = self._names(query)
        self._aggregated(query, "compute#acceleratorTypeAggregatedList", "acceleratorTypes", lambda z: [
            {"kind": "compute#acceleratorType", "name": a, "zone": f"{self.state.base}/compute/v1/projects/{project}"
             f"/zones/{z}", "description": a.upper(), "maximumCardsPerInstance": 8}
            for a in self.state.zones[z].get("accelerators", []) if not wanted or a in wanted])

    def get_machines(self, query, _body, project) -> None:
        wanted = self._names(query)
        self._aggregated(query, "compute#machineTypeAggregatedList", "machineTypes", lambda z: [
            {"kind": "compute#machineType", "name": m, "zone": z, **self.state.machine_specs.get(m, {})}
            for m in self.state.zones[z].get("machines", []) if not wanted or m in wanted])

    def get_machine(self, _query, _body, project, zone, name) -> None:
        if name not in self.state.zones.get(zone, {}).get("machines", []):
            return self._error(404, f"The resource 'projects/{project}/zones/{zone}/machineTypes/{name}' was not found")
        self._send(200, {"kind": "compute#machineType", "name": name, "zone": zone, **self.state.machine_specs.get(name, {})})

    def get_region(self, _query, _body, project, region) -> None:
        zones = [f"{self.state.base}/compute/v1/projects/{project}/zones/{z}" for z in self.state.zones
                 if z.rsplit("-", 1)[0] == region]
        self._send(200, {"kind": "compute#region", "name": region, "status": "UP", "zones": zones,
                         "quotas": self.state.region_quotas.get(region, [])})

    def get_project(self, _query, _body, project) -> None:
        self._send(200, {"kind": "compute#project", "name": project, "quotas": self.state.project_quotas})

    # --- Cloud Billing Catalog ---
    def get_skus(self, query, _body, service) -> None:
        start, size = int(query.get("pageToken") or 0), min(int(query.get("pageSize") or 5000), 5000)
        reply = {"skus": self.state.skus[start:start + size], "nextPageToken": ""}
        if start + size < len(self.state.skus):
            reply["nextPageToken"] = str(start + size)
        self._send(200, reply)

    # --- Cloud Storage JSON API ---
    def _object(self, bucket: str, name: str) -> dict:
        data = self.state.objects[(bucket, name)]
        quoted = urllib.parse.quote(name, safe="")
        return {"kind": "storage#object", "bucket": bucket, "name": name, "id": f"{bucket}/{name}/1",
                "size": str(len(data)), "generation": "1", "metageneration": "1",
                "md5Hash": _b64(hashlib.md5(data).digest()),  # noqa: S324 - GCS's own md5Hash field
                "crc32c": _b64(google_crc32c.Checksum(data).digest()), "contentType": "application/octet-stream",
                "mediaLink": f"{self.state.base}/download/storage/v1/b/{bucket}/o/{quoted}?alt=media"}

    def post_upload(self, query, body, bucket) -> None:
        if query.get("uploadType") == "resumable":
            meta = json.loads(body or b"{}")
            upload_id = uuid.uuid4().hex
            self.state.sessions[upload_id] = {"bucket": bucket, "name": meta.get("name") or query.get("name"),
                                              "data": bytearray()}
            location = f"{self.state.base}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={upload_id}"
            return self._send(200, {}, {"Location": location})
        boundary = re.search(r'boundary="?([^";]+)"?', self.headers["Content-Type"]).group(1).encode()
        parts = body.split(b"--" + boundary)
        meta_part, media_part = parts[1], parts[2]
        meta = json.loads(meta_part.split(b"\r\n\r\n", 1)[1].strip())
        media = media_part.split(b"\r\n\r\n", 1)[1][:-2]  # drop the CRLF before the closing boundary
        with self.state.lock:
            self.state.objects[(bucket, meta["name"])] = bytes(media)
        self._send(200, self._object(bucket, meta["name"]))

    def put_upload(self, query, body, bucket) -> None:
        session = self.state.sessions[query["upload_id"]]
        match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)|bytes \*/(\d+)", self.headers.get("Content-Range", ""))
        if body:
            session["data"] += body
        total = match.group(3) or match.group(4) if match else None
        if total and total != "*" and len(session["data"]) >= int(total):
            with self.state.lock:
                self.state.objects[(session["bucket"], session["name"])] = bytes(session["data"])
            return self._send(200, self._object(session["bucket"], session["name"]))
        self._send(308, {}, {"Range": f"bytes=0-{len(session['data']) - 1}"} if session["data"] else {})

    def get_object(self, _query, _body, bucket, name) -> None:
        if (bucket, name) not in self.state.objects:
            return self._error(404, "No such object")
        self._send(200, self._object(bucket, name))

    def get_media(self, _query, _body, bucket, name) -> None:
        if (bucket, name) not in self.state.objects:
            return self._error(404, "No such object")
        self._send(200, None, raw=self.state.objects[(bucket, name)])

    def get_bucket(self, _query, _body, bucket) -> None:
        if self.state.missing_buckets and bucket in self.state.missing_buckets:
            return self._error(404, f"The specified bucket does not exist: {bucket}")
        self._send(200, {"kind": "storage#bucket", "name": bucket, "id": bucket, "location": "US",
                         "storageClass": "STANDARD", "metageneration": "1"})

    def get_list(self, query, _body, bucket) -> None:
        names = sorted(n for b, n in self.state.objects if b == bucket and n.startswith(query.get("prefix", "")))
        self._send(200, {"kind": "storage#objects", "items": [self._object(bucket, n) for n in names]})


ROUTES = [
    (r"/compute/v1/projects/([^/]+)/aggregated/acceleratorTypes", Handler.get_accelerators),
    (r"/compute/v1/projects/([^/]+)/aggregated/machineTypes", Handler.get_machines),
    (r"/compute/v1/projects/([^/]+)/zones/([^/]+)/machineTypes/([^/]+)", Handler.get_machine),
    (r"/compute/v1/projects/([^/]+)/regions/([^/]+)", Handler.get_region),
    (r"/compute/v1/projects/([^/]+)", Handler.get_project),
    (r"/v1/services/([^/]+)/skus", Handler.get_skus),
    (r"/upload/storage/v1/b/([^/]+)/o", Handler.post_upload),
    (r"/upload/storage/v1/b/([^/]+)/o", Handler.put_upload),
    (r"/storage/v1/b/([^/]+)/o/(.+)", Handler.get_object),
    (r"/download/storage/v1/b/([^/]+)/o/(.+)", Handler.get_media),
    (r"/storage/v1/b/([^/]+)/o", Handler.get_list),
    (r"/storage/v1/b/([^/]+)", Handler.get_bucket),
]


def start() -> tuple[ThreadingHTTPServer, GcpState, str]:
    """Starts the server on a free 127.0.0.1 port; returns (server, state, base URL)."""
    state = GcpState()
    handler = type("BoundGcpHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state, state.base
