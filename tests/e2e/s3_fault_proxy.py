"""A fault-injecting HTTP proxy in front of an S3 endpoint (the test bed's
RGW), for the s3-* scenarios: every EVERY-th request (1, 2, ... counted from
1) gets 503 SlowDown without reaching the store; the others are forwarded
as they came (the Host header too, so SigV4 signatures still match) and
answered with the store's reply.

    python3 s3_fault_proxy.py UPSTREAM_URL EVERY COUNT_FILE

Prints its URL (http://127.0.0.1:PORT) on the first line of stdout when it
listens; COUNT_FILE holds "requests injected" after every request."""
import http.client
import http.server
import socketserver
import sys
import threading
import urllib.parse

upstream = urllib.parse.urlparse(sys.argv[1])
every = int(sys.argv[2])
count_file = sys.argv[3]
lock = threading.Lock()
counts = {"requests": 0, "injected": 0}
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b'<Message>Please reduce your request rate.</Message></Error>')
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            counts["requests"] += 1
            inject = counts["requests"] % every == 0
            if inject:
                counts["injected"] += 1
            with open(count_file, "w") as f:
                f.write(f'{counts["requests"]} {counts["injected"]}\n')
        if inject:
            self.send_response(503, "Slow Down")
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            self.wfile.write(SLOW_DOWN)
            return
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP and k.lower() != "expect"}
        conn.request(self.command, self.path, body=body if body or length else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", resp.getheader("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
