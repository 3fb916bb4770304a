"""The preview's HTTP server: the page, the world it shows, and live updates as the spec changes.

Routes (GET only; anything else is refused):
  /                      the page (package data, worldgen/preview/static/index.html)
  /static/...            the page's scripts and the vendored three.js
  /api/scene             {"version", "error", "scene"}: the latest state; "scene" is the last
                         good world's description (worldgen.preview.scene), kept while the
                         spec is broken, and "error" the located one-line message
  /api/scene.glb?v=N     the glTF export of world version N (the last few are kept)
  /api/events            server-sent events: "state" whenever a reload finished (good or bad)
  /api/render?shot=&frame=  the renderer's frame, depth and segmentation (worldgen.preview.frame)
  /files/NAME            the spec and the mesh assets it names (worldgen.preview.files)

The server binds 127.0.0.1 unless told otherwise, and answers only requests whose Host header
names that address (a web page elsewhere cannot reach it through DNS rebinding). Saving the
spec (or an asset it names) is seen by watchfiles, which reports a change once writes settle;
the world is rebuilt in the watcher's thread and every open page is told."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import queue
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from worldgen.errors import SpecError, WorldgenError
from worldgen.preview.files import Refused, ServedFiles, normalise
from worldgen.preview.scene import BuiltScene, build_scene

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
KEEP_VERSIONS = 4  # world versions whose glTF a page may still ask for while it loads
WATCH_STEP_MS = 20  # watchfiles: a change is reported once no further write came for this long
WATCH_READY_MS = 100  # watchfiles wakes up this often without changes (to say it is watching)
HEARTBEAT_S = 15.0  # a comment line on idle event streams, so dead connections are noticed

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".glb": "model/gltf-binary",
    ".yaml": "text/plain; charset=utf-8",
    ".yml": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".obj": "text/plain; charset=utf-8",
    ".gltf": "model/gltf+json",
}


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def _content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in _TYPES:
        return _TYPES[suffix]
    if Path(path).name == "LICENSE":
        return "text/plain; charset=utf-8"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _page_headers(html: str) -> dict:
    """The page's Content-Security-Policy: its own scripts, plus the inline import map by hash."""
    import base64

    maps = re.findall(r'<script type="importmap">(.*?)</script>', html, re.S)
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'" for m in maps)
    return {
        "Content-Security-Policy": f"default-src 'self'; script-src 'self' {hashes}; img-src 'self' data: blob:; "
        "style-src 'self'; connect-src 'self' blob: data:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


class PreviewState:
    """The latest build attempt of the spec: the last good world and, when the newest attempt
    failed, its error. Every attempt gets a new version; listeners hear of each."""

    def __init__(self, spec_path: Path):
        self.spec_path = Path(spec_path)
        self.files = ServedFiles(self.spec_path)
        self.version = 0
        self.good: BuiltScene | None = None
        self.error: dict | None = None
        self.builds: dict[int, BuiltScene] = {}
        self.renderers: dict[int, object] = {}
        self._lock = threading.Lock()  # one rebuild at a time
        self._listeners: list[queue.Queue] = []
        self._listeners_lock = threading.Lock()

    def reload(self) -> dict:
        """Rebuild from the file as it is now; returns the new state (see `snapshot`)."""
        with self._lock:
            version = self.version + 1
            try:
                built = build_scene(self.spec_path, version)
            except WorldgenError as e:
                line = e.line if isinstance(e, SpecError) else None
                self.error = {"message": str(e), "line": line, "version": version}
            else:
                self.good, self.error = built, None
                self.builds[version] = built
                for old in sorted(self.builds)[:-KEEP_VERSIONS]:
                    self.builds.pop(old)
                    self.renderers.pop(old, None)
                self.files.allow_assets(built.assets)
            self.version = version
            state = self.snapshot()
        self._publish(state)
        return state

    def snapshot(self) -> dict:
        good = self.good
        return {
            "version": self.version,
            "error": self.error,
            "scene": good.meta if good else None,
            "build_seconds": round(good.seconds, 3) if good else None,
        }

    def watched_files(self) -> set[Path]:
        folder = self.files.folder
        out = {folder / self.spec_path.name}
        if self.good is not None:
            out |= {Path(p) for p in self.good.assets.values()}
        return out

    def renderer(self):
        """The frame renderer of the last good world."""
        from worldgen.preview.frame import FrameRenderer

        good = self.good
        if good is None:
            raise WorldgenError("the spec has not loaded yet: nothing to render")
        with self._lock:
            if good.version not in self.renderers:
                self.renderers[good.version] = FrameRenderer(good.spec, good.world)
            return self.renderers[good.version]

    # ---- listeners (one queue per open event stream) ------------------------------------
    def listen(self) -> queue.Queue:
        q: queue.Queue = queue.Queue()
        with self._listeners_lock:
            self._listeners.append(q)
        return q

    def unlisten(self, q: queue.Queue) -> None:
        with self._listeners_lock:
            if q in self._listeners:
                self._listeners.remove(q)

    def _publish(self, state: dict) -> None:
        with self._listeners_lock:
            for q in self._listeners:
                q.put(state)


class _Handler(BaseHTTPRequestHandler):
    server_version = "worldgen-preview"
    preview: PreviewServer  # set on the subclass made per server

    def log_message(self, format, *args):  # noqa: A002 - quiet: one line per request is noise here
        pass

    def do_POST(self):  # noqa: N802
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"GET only\n", "text/plain")

    do_PUT = do_DELETE = do_PATCH = do_POST

    def do_HEAD(self):  # noqa: N802
        self.do_GET(head=True)

    def do_GET(self, head: bool = False):  # noqa: N802
        self._head = head
        if not self.preview.host_allowed(self.headers.get("Host", "")):
            return self._send(HTTPStatus.FORBIDDEN, b"unexpected Host header\n", "text/plain")
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        try:
            if path == "/":
                return self._page()
            if path == "/favicon.ico":
                return self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            if path.startswith("/static/"):
                return self._static(path[len("/static/") :])
            if path == "/api/scene":
                return self._json(self.preview.state.snapshot())
            if path == "/api/scene.glb":
                return self._glb(query)
            if path == "/api/events":
                if head:
                    return self._send(HTTPStatus.OK, b"", "text/event-stream")
                return self._events()
            if path == "/api/render":
                return self._render(query)
            if path.startswith("/files/"):
                real = self.preview.state.files.resolve(path[len("/files/") :])
                return self._send(HTTPStatus.OK, real.read_bytes(), _content_type(real.name), cache=False)
        except Refused:
            pass
        except (BrokenPipeError, ConnectionResetError):
            return
        return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    # ---- responses ----------------------------------------------------------------------
    def _send(self, status, body: bytes, ctype: str, cache: bool = False, headers: dict | None = None):
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"' if cache else None
        if etag and self.headers.get("If-None-Match") == etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if etag:
            self.send_header("ETag", etag)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not getattr(self, "_head", False):
            self.wfile.write(body)

    def _json(self, obj, status=HTTPStatus.OK):
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _page(self):
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        self._send(HTTPStatus.OK, html.encode(), _content_type("index.html"), headers=_page_headers(html))

    def _static(self, name: str):
        clean = normalise(name)
        real = (STATIC / clean).resolve()
        if STATIC not in real.parents or not real.is_file():
            raise Refused(name)
        self._send(HTTPStatus.OK, real.read_bytes(), _content_type(real.name), cache=True)

    def _glb(self, query):
        state = self.preview.state
        try:
            version = int(query.get("v", [""])[0])
        except ValueError:
            version = state.good.version if state.good else -1
        built = state.builds.get(version)
        if built is None:
            return self._send(HTTPStatus.GONE, b"no such world version\n", "text/plain")
        self._send(HTTPStatus.OK, built.glb, "model/gltf-binary", headers={"X-Worldgen-Version": str(version)})

    def _render(self, query):
        try:
            shot = query.get("shot", [""])[0]
            frame = int(query.get("frame", ["0"])[0])
            result = self.preview.state.renderer().render(shot, frame)
        except ValueError:
            return self._json({"error": "frame: not a whole number"}, HTTPStatus.BAD_REQUEST)
        except WorldgenError as e:
            return self._json({"error": str(e)}, HTTPStatus.BAD_REQUEST)
        self._json(result)

    def _events(self):
        state = self.preview.state
        q = state.listen()
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self._event(state.snapshot())
            last = time.monotonic()
            while not self.preview.closing.is_set():
                try:
                    item = q.get(timeout=0.5)  # wake up now and then to notice the server closing
                except queue.Empty:
                    if time.monotonic() - last > HEARTBEAT_S:
                        self.wfile.write(b": ping\n\n")
                        self.wfile.flush()
                        last = time.monotonic()
                    continue
                self._event(item)
                last = time.monotonic()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            state.unlisten(q)

    def _event(self, state: dict):
        # the page re-reads /api/scene; the stream carries only what changed, and when
        summary = {
            "version": state["version"],
            "error": state["error"],
            "scene_version": state["scene"]["version"] if state["scene"] else None,
        }
        self.wfile.write(b"event: state\ndata: " + json.dumps(summary).encode() + b"\n\n")
        self.wfile.flush()


class PreviewServer:
    """Serves the preview of one spec file. `start()` binds, loads the spec and begins
    watching it; `close()` stops everything. `port=0` takes any free port (see `url`)."""

    def __init__(
        self,
        spec_path: str | Path,
        host: str = "127.0.0.1",
        port: int = 8377,
        watch: bool = True,
        force_polling: bool | None = None,
    ):
        self.state = PreviewState(Path(spec_path))
        self.host, self.port, self.watch = host, port, watch
        self.force_polling = force_polling
        self.closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.watching = threading.Event()  # set once the watcher has its watches in place

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def host_allowed(self, header: str) -> bool:
        """Requests must name the address the server is reached at (loopback names when bound
        to loopback); a server bound to another address, by the user's explicit choice, takes any."""
        if not is_loopback(self.host):
            return True
        name, port = header, "80"  # no port in the header: the scheme's default
        if re.fullmatch(r".*:\d+", header) and not header.endswith("]"):
            name, _, port = header.rpartition(":")
        return port == str(self.port) and is_loopback(name.strip("[]"))

    def start(self) -> dict:
        """Bind, build the first world (a broken spec still starts: the page shows its error),
        and start serving and watching. Returns the first state."""
        handler = type("Handler", (_Handler,), {"preview": self})
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("HTTPServer", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        self._httpd = server_class((self.host, self.port), handler)
        self.port = self._httpd.server_address[1]
        first = self.state.reload()
        self._spawn(self._httpd.serve_forever, "preview-http")
        if self.watch:
            self._spawn(self._watch_loop, "preview-watch")
            self.watching.wait(timeout=10)
        return first

    def _spawn(self, target, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _watch_loop(self) -> None:
        import watchfiles

        while not self.closing.is_set():
            files = {str(p) for p in self.state.watched_files()}
            folders = sorted({str(Path(f).parent) for f in files if Path(f).parent.is_dir()})
            # rust_timeout + yield_on_timeout: an empty yield soon after the watches are in place
            # tells start() that a save from now on will be seen
            for changes in watchfiles.watch(
                *folders,
                watch_filter=lambda _c, p: p in files,
                step=WATCH_STEP_MS,
                stop_event=self.closing,
                recursive=False,
                raise_interrupt=False,
                force_polling=self.force_polling,
                poll_delay_ms=100,
                rust_timeout=WATCH_READY_MS,
                yield_on_timeout=True,
            ):
                self.watching.set()
                if self.closing.is_set():
                    return
                if changes:
                    self.state.reload()
                    if {str(p) for p in self.state.watched_files()} != files:
                        break  # the spec names other assets now: watch their folders

    def close(self) -> None:
        self.closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
