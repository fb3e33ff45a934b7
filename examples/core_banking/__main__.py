"""Run the sample core-banking API alone: `python -m examples.core_banking --port 8088 --api-key demo-core-key`."""

from __future__ import annotations

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from examples.core_banking.api import DEFAULT_MOUNT, CoreBankingApi


def make_server(api: CoreBankingApi, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = api.handle(self.command, self.path, dict(self.headers.items()), body)
            status, headers, payload = reply or (404, {"Content-Type": "application/json"}, b'{"error":"not_found"}')
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.core_banking", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--api-key", default="demo-core-key")
    parser.add_argument("--mount", default=DEFAULT_MOUNT)
    args = parser.parse_args(argv)
    api = CoreBankingApi(api_key=args.api_key, mount=args.mount)
    server = make_server(api, args.host, args.port)
    print(f"Sample core-banking API on http://{args.host}:{args.port}{api.mount} (send the X-Api-Key header)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
