"""A local HTTP server that speaks the GOV.UK Notify endpoints the product uses, for tests.

It is a real server on a free port (the official client talks HTTP to it, with its real JWT): it
checks every request's bearer token against the API key, keeps each notification it accepts, and
answers with a scripted error when told to (`fail_next`).

Endpoints: POST /v2/notifications/email, POST /v2/notifications/letter, GET /v2/notifications
(?reference=), GET /v2/notifications/<id>.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from notifications_python_client.authentication import decode_jwt_token, get_token_issuer

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"earlyhelp_test-{SERVICE_ID}-{SECRET}"


def error_body(status: int, kind: str, message: str) -> dict:
    return {"status_code": status, "errors": [{"error": kind, "message": message}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeNotify:
    def __init__(self) -> None:
        self.notifications: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.failures: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> FakeNotify:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, message: str = "", kind: str = "BadRequestError") -> None:
        """The next send (POST) answers with this status instead of accepting the notification."""
        self.failures.append((status, error_body(status, kind, message)))

    def set_status(self, notification_id: str, status: str, completed_at: str = "2026-12-07T10:00:00.000000Z"):
        self.notifications[notification_id].update(status=status, completed_at=completed_at)

    def sent(self, kind: str | None = None) -> list[dict]:
        return [n for n in self.notifications.values() if kind is None or n["type"] == kind]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                token = header.removeprefix("Bearer ")
                try:
                    ok = get_token_issuer(token) == SERVICE_ID and decode_jwt_token(token, SECRET)
                except Exception:  # noqa: BLE001 - any bad token is a 403, as Notify answers
                    ok = False
                if not ok:
                    self._answer(
                        403, {"status_code": 403, "errors": [{"error": "AuthError", "message": "Invalid token"}]}
                    )
                return bool(ok)

            def do_GET(self):  # noqa: N802
                fake.requests.append(("GET", self.path))
                if not self._authorised():
                    return
                parts = urlsplit(self.path)
                if parts.path == "/v2/notifications":
                    reference = parse_qs(parts.query).get("reference", [""])[0]
                    found = [n for n in fake.notifications.values() if n["reference"] == reference]
                    self._answer(200, {"notifications": found, "links": {"current": self.path}})
                    return
                notification_id = parts.path.rsplit("/", 1)[-1]
                if parts.path.startswith("/v2/notifications/") and notification_id in fake.notifications:
                    self._answer(200, fake.notifications[notification_id])
                    return
                self._answer(
                    404, {"status_code": 404, "errors": [{"error": "NoResultFound", "message": "No result found"}]}
                )

            def do_POST(self):  # noqa: N802
                fake.requests.append(("POST", self.path))
                if not self._authorised():
                    return
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                kind = {"/v2/notifications/email": "email", "/v2/notifications/letter": "letter"}.get(self.path)
                if kind is None:
                    self._answer(404, {"status_code": 404, "errors": [{"error": "NotFound", "message": "Not found"}]})
                    return
                with fake.lock:
                    if fake.failures:
                        status, body = fake.failures.pop(0)
                        self._answer(status, body)
                        return
                    personalisation = payload.get("personalisation") or {}
                    if kind == "letter" and not personalisation.get("address_line_3"):
                        self._answer(
                            400,
                            {
                                "status_code": 400,
                                "errors": [{"error": "ValidationError", "message": "Address must be at least 3 lines"}],
                            },
                        )
                        return
                    notification_id = str(uuid.uuid4())
                    fake.notifications[notification_id] = {
                        "id": notification_id,
                        "reference": payload.get("reference"),
                        "type": kind,
                        "status": "created" if kind == "email" else "accepted",
                        "email_address": payload.get("email_address"),
                        "template": {"id": payload.get("template_id"), "version": 1},
                        "personalisation": personalisation,
                        "created_at": "2026-12-07T09:00:00.000000Z",
                        "completed_at": None,
                    }
                self._answer(
                    201,
                    {
                        "id": notification_id,
                        "reference": payload.get("reference"),
                        "content": {
                            "subject": personalisation.get("subject", ""),
                            "body": personalisation.get("body", ""),
                        },
                        "template": {"id": payload.get("template_id"), "version": 1, "uri": ""},
                        "uri": f"{fake.base_url}/v2/notifications/{notification_id}",
                    },
                )

        return Handler
