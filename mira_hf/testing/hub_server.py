"""A small Hub-compatible HTTP server on 127.0.0.1, for tests and examples that push without the real Hub.

It implements what ``huggingface_hub`` 2.x and ``datasets`` call to create a repo and branches, upload files,
commit (NDJSON), list trees and paths, report repo/revision info and serve downloads (``resolve`` with HEAD,
ranges and the ``ETag`` / ``X-Repo-Commit`` / ``X-Linked-*`` headers), stores repos in memory, records every
request, and can inject failures. Small files are committed inline (``uploadMode: "regular"``); Parquet and
other binary files answer ``"lfs"`` as on the Hub, because ``datasets`` deletes each shard's temporary file
right after pre-uploading it, so a shard must be uploaded before the commit (through the LFS batch API;
Xet is never advertised and is switched off in `HubServer.client_env`). Point a *client process* at it
with `HubServer.client_env` (``HF_ENDPOINT`` is read when ``huggingface_hub`` and ``datasets`` are
imported, so set it before importing them).

Example:
    >>> from mira_hf.testing.hub_server import HubServer
    >>> with HubServer(token="hf_test") as hub:                      # doctest: +SKIP
    ...     env = hub.client_env()                                   # run a client process with this env
    ...     hub.inject_failure("commit", status=500, nth=2)          # the second commit will fail
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

logger = logging.getLogger(__name__)

#: Path suffixes the Hub stores through LFS (from its default ``.gitattributes``); larger files always are.
LFS_SUFFIXES: tuple[str, ...] = (
    ".7z",
    ".arrow",
    ".bin",
    ".bz2",
    ".ckpt",
    ".ftz",
    ".gz",
    ".h5",
    ".joblib",
    ".lz4",
    ".mlmodel",
    ".model",
    ".msgpack",
    ".npy",
    ".npz",
    ".onnx",
    ".ot",
    ".parquet",
    ".pb",
    ".pickle",
    ".pkl",
    ".pt",
    ".pth",
    ".rar",
    ".safetensors",
    ".tar",
    ".tflite",
    ".tgz",
    ".wasm",
    ".xz",
    ".zip",
    ".zst",
)
LFS_THRESHOLD = 10 * 1024 * 1024
_GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES).encode()
_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class StoredFile:
    """One file in one commit: its bytes and the ids the Hub reports for it."""

    content: bytes
    lfs: bool

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n".encode()

    @property
    def blob_oid(self) -> str:
        return _git_blob_oid(self.pointer if self.lfs else self.content)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob_oid


@dataclass
class Commit:
    """A commit: its id, parent, message and the full file tree at that point."""

    oid: str
    parent: str | None
    title: str
    description: str
    date: str
    files: dict[str, StoredFile]


@dataclass
class Repo:
    """A repository: commits by id, refs (branches and ``refs/pr/N``) to commit ids."""

    repo_id: str
    repo_type: str
    private: bool
    created: str
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    pr_count: int = 0

    def resolve(self, revision: str) -> Commit | None:
        if revision in self.refs:
            return self.commits[self.refs[revision]]
        return self.commits.get(revision)


@dataclass
class RecordedRequest:
    """One request as the server received it (headers and body verbatim) and the status it answered."""

    method: str
    path: str
    route: str
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class _Failure:
    route: str
    status: int
    nth: int
    times: int
    seen: int = 0


class HttpError(Exception):
    """Raised inside handlers to answer with a Hub-style error (status, ``X-Error-Code``, message)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class HubServer:
    """An in-memory Hub on ``127.0.0.1`` that the real ``huggingface_hub`` and ``datasets`` clients can use.

    ``token``: when set, writes need ``Authorization: Bearer <token>`` and private repos need it to be read.
    Every request is kept in `requests`; `inject_failure` makes a route fail on its n-th call.
    """

    def __init__(
        self, *, token: str | None = None, user: str = "mira-user", host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.token = token
        self.user = user
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def endpoint(self) -> str:
        host, port = cast("tuple[str, int]", self._httpd.server_address[:2])
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        """Serve in a daemon thread; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="mira-hub-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client_env(self) -> dict[str, str]:
        """Environment variables that point ``huggingface_hub``/``datasets`` (imported afterwards) at this server.

        Xet is turned off so that large files go through the LFS batch API this server implements.
        """
        return {
            "HF_ENDPOINT": self.endpoint,
            "HF_HUB_OFFLINE": "0",
            "HF_DATASETS_OFFLINE": "0",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_ETAG_TIMEOUT": "30",
            "HF_HUB_DOWNLOAD_TIMEOUT": "30",
        }

    # ------------------------------------------------------------------ inspection and failure injection
    def inject_failure(self, route: str, *, status: int = 500, nth: int = 1, times: int = 1) -> None:
        """Answer ``status`` to the ``nth`` call of ``route`` (counted from now), ``times`` times in a row.

        Routes: ``create_repo``, ``repo_info``, ``preupload``, ``lfs_batch``, ``lfs_upload``, ``commit``,
        ``branch``, ``tree``, ``paths_info``, ``commits``, ``refs``, ``resolve``, ``validate_yaml``, ``whoami``.
        """
        if route not in _ROUTE_NAMES:
            raise ValueError(f"unknown route {route!r}; known routes: {', '.join(sorted(_ROUTE_NAMES))}")
        with self._lock:
            self._failures.append(_Failure(route=route, status=status, nth=nth, times=times))

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        """Every file of ``repo_id`` at ``revision``, path → bytes."""
        with self._lock:
            repo = self.repos.get((repo_type, repo_id))
            commit = repo.resolve(revision) if repo else None
            if commit is None:
                raise KeyError(f"no {repo_type} repo {repo_id!r} at revision {revision!r}")
            return {p: f.content for p, f in commit.files.items()}

    def history(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> list[Commit]:
        """Commits reachable from ``revision``, newest first."""
        with self._lock:
            repo = self.repos[(repo_type, repo_id)]
            out, commit = [], repo.resolve(revision)
            while commit is not None:
                out.append(commit)
                commit = repo.commits.get(commit.parent) if commit.parent else None
            return out

    def stored_bytes(self) -> list[bytes]:
        """Every stored blob (all files of all commits of all repos, and every LFS object)."""
        with self._lock:
            blobs = [f.content for repo in self.repos.values() for c in repo.commits.values() for f in c.files.values()]
            return blobs + list(self.lfs_objects.values())

    # ------------------------------------------------------------------ internals used by the handler
    def _maybe_fail(self, route: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.route != route or failure.times <= 0:
                    continue
                failure.seen += 1
                if failure.seen >= failure.nth:
                    failure.times -= 1
                    return failure
        return None

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.token is None:
            return True
        return headers.get("authorization", "") == f"Bearer {self.token}"

    def _url(self, repo: Repo) -> str:
        return f"{self.endpoint}/{_URL_PREFIX[repo.repo_type]}{repo.repo_id}"


# Route table: (method, regex over the unquoted path, route name).
_API = r"/api/(?P<type>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)"
_REV = r"(?P<rev>refs/(?:pr|convert)/[^/]+|[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), name)
    for m, p, name in [
        ("GET", r"/api/whoami-v2", "whoami"),
        ("POST", r"/api/repos/create", "create_repo"),
        ("POST", r"/api/validate-yaml", "validate_yaml"),
        ("GET", _API + r"(?:/revision/" + _REV + r")?", "repo_info"),
        ("POST", _API + r"/preupload/" + _REV, "preupload"),
        ("POST", _API + r"/commit/" + _REV, "commit"),
        ("POST", _API + r"/branch/(?P<branch>.+)", "branch"),
        ("GET", _API + r"/tree/" + _REV + r"(?:/(?P<path>.*))?", "tree"),
        ("POST", _API + r"/paths-info/" + _REV, "paths_info"),
        ("GET", _API + r"/commits/" + _REV, "commits"),
        ("GET", _API + r"/refs", "refs"),
        ("POST", r"/(?P<prefix>datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", "lfs_batch"),
        ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
        ("GET", r"/(?P<prefix>datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)/resolve/" + _REV + r"/(?P<path>.+)", "resolve"),
        ("HEAD", r"/(?P<prefix>datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)/resolve/" + _REV + r"/(?P<path>.+)", "resolve"),
    ]
]
_ROUTE_NAMES = {name for _, _, name in _ROUTES}


def _make_handler(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        server_hub = hub

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_hub: HubServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("hub-server: " + format, *args)

    # --------------------------------------------------------------- plumbing
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self._record.status = status

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _dispatch(self) -> None:
        hub = self.server_hub
        split = urlsplit(self.path)
        path = "/".join(unquote(s) for s in split.path.split("/"))
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body()
        route, match = "unknown", None
        for method, pattern, name in _ROUTES:
            if method == self.command and (m := pattern.fullmatch(path)):
                route, match = name, m
                break
        self._record = RecordedRequest(self.command, self.path, route, headers, body)
        with hub._lock:
            hub.requests.append(self._record)
        try:
            if match is None:
                raise HttpError(404, f"{self.command} {split.path} is not served by this test Hub")
            failure = hub._maybe_fail(route)
            if failure is not None:
                raise HttpError(failure.status, f"Injected failure on {route} (status {failure.status})")
            getattr(self, f"_do_{route}")(match, query, headers, body)
        except HttpError as e:
            extra = {"X-Error-Message": e.message}
            if e.code:
                extra["X-Error-Code"] = e.code
            self._json(e.status, {"error": e.message}, extra)
        except Exception as e:  # a bug in this server: answer 500 and say so
            logger.exception("hub-server: error while serving %s %s", self.command, self.path)
            self._json(500, {"error": f"test Hub server error: {e}"}, {"X-Error-Message": str(e)})

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _dispatch

    # --------------------------------------------------------------- lookups shared by the routes
    def _repo(self, match: re.Match[str], headers: dict[str, str], *, write: bool = False) -> Repo:
        hub = self.server_hub
        groups = match.groupdict()
        if "type" in groups and groups["type"]:
            repo_type = _TYPES[groups["type"]]
        else:
            prefix = groups.get("prefix") or ""
            repo_type = {"": "model", "datasets/": "dataset", "spaces/": "space"}[prefix]
        if write and not hub._authorized(headers):
            raise HttpError(401, "Invalid credentials in Authorization header")
        repo = hub.repos.get((repo_type, groups["repo"]))
        if repo is None or (repo.private and not hub._authorized(headers)):
            raise HttpError(404, f"Repository Not Found for {repo_type} {groups['repo']!r}", "RepoNotFound")
        return repo

    @staticmethod
    def _commit(repo: Repo, revision: str | None) -> Commit:
        commit = repo.resolve(revision or "main")
        if commit is None:
            raise HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    @staticmethod
    def _file_entry(path: str, f: StoredFile, commit: Commit | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "file", "oid": f.blob_oid, "size": f.size, "path": path}
        if f.lfs:
            entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": len(f.pointer)}
        if commit is not None:
            entry["lastCommit"] = {"id": commit.oid, "title": commit.title, "date": commit.date}
        return entry

    @staticmethod
    def _dir_entry(path: str, commit: Commit | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "directory",
            "oid": hashlib.sha1(path.encode()).hexdigest(),
            "size": 0,
            "path": path,
        }
        if commit is not None:
            entry["lastCommit"] = {"id": commit.oid, "title": commit.title, "date": commit.date}
        return entry

    # --------------------------------------------------------------- routes
    def _do_whoami(self, match, query, headers, body) -> None:
        hub = self.server_hub
        if hub.token is not None and not hub._authorized(headers):
            raise HttpError(401, "Invalid credentials in Authorization header")
        self._json(
            200,
            {
                "type": "user",
                "name": hub.user,
                "fullname": hub.user,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}},
            },
        )

    def _do_validate_yaml(self, match, query, headers, body) -> None:
        content = json.loads(body or b"{}").get("content", "")
        m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, re.S)
        if m:
            try:
                meta = yaml.safe_load(m.group(1))
            except yaml.YAMLError as e:
                self._json(400, {"errors": [{"message": f"Invalid YAML: {e}"}]})
                return
            if meta is not None and not isinstance(meta, dict):
                self._json(400, {"errors": [{"message": "YAML metadata must be a mapping"}]})
                return
        self._json(200, {"warnings": []})

    def _do_create_repo(self, match, query, headers, body) -> None:
        hub = self.server_hub
        if not hub._authorized(headers):
            raise HttpError(401, "Invalid credentials in Authorization header")
        payload = json.loads(body or b"{}")
        repo_type = payload.get("type") or "model"
        name, org = payload["name"], payload.get("organization") or hub.user
        repo_id = f"{org}/{name}"
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        with hub._lock:
            if (repo_type, repo_id) in hub.repos:
                raise HttpError(409, "You already created this repo")
            repo = Repo(repo_id=repo_id, repo_type=repo_type, private=private, created=_now())
            oid = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
            repo.commits[oid] = Commit(
                oid, None, "initial commit", "", _now(), {".gitattributes": StoredFile(_GITATTRIBUTES, lfs=False)}
            )
            repo.refs["main"] = oid
            hub.repos[(repo_type, repo_id)] = repo
        self._json(200, {"url": hub._url(repo), "name": repo_id, "id": repo_id})

    def _do_repo_info(self, match, query, headers, body) -> None:
        repo = self._repo(match, headers)
        commit = self._commit(repo, match.group("rev"))
        card: dict[str, Any] | None = None
        readme = commit.files.get("README.md")
        if readme is not None:
            m = re.match(rb"^---\s*\n(.*?)\n---\s*(\n|$)", readme.content, re.S)
            try:
                card = yaml.safe_load(m.group(1)) if m else None
            except yaml.YAMLError:
                card = None
        siblings = []
        for path, f in sorted(commit.files.items()):
            sib: dict[str, Any] = {"rfilename": path, "size": f.size, "blobId": f.blob_oid}
            if f.lfs:
                sib["lfs"] = {"size": f.size, "sha256": f.sha256, "pointerSize": len(f.pointer)}
            siblings.append(sib)
        self._json(
            200,
            {
                "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
                "id": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": commit.oid,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "createdAt": repo.created,
                "lastModified": commit.date,
                "cardData": card,
                "siblings": siblings,
            },
        )

    def _do_preupload(self, match, query, headers, body) -> None:
        repo = self._repo(match, headers, write=True)
        commit = repo.resolve(match.group("rev"))
        files = []
        for item in json.loads(body)["files"]:
            path, size = item["path"], int(item["size"])
            lfs = path.endswith(LFS_SUFFIXES) or size >= LFS_THRESHOLD
            existing = commit.files.get(path) if commit else None
            oid = (existing.sha256 if existing.lfs else existing.blob_oid) if existing else None
            files.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
        self._json(200, {"files": files, "commitOid": commit.oid if commit else None})

    def _do_lfs_batch(self, match, query, headers, body) -> None:
        hub = self.server_hub
        self._repo(match, headers, write=True)
        payload = json.loads(body)
        objects = []
        for obj in payload.get("objects", []):
            oid, size = obj["oid"], int(obj["size"])
            out: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if oid not in hub.lfs_objects:
                out["actions"] = {
                    "upload": {"href": f"{hub.endpoint}/lfs-upload/{oid}", "header": {}, "expires_in": 3600}
                }
            objects.append(out)
        self._send(
            200,
            json.dumps({"transfer": "basic", "objects": objects}).encode(),
            content_type="application/vnd.git-lfs+json",
        )

    def _do_lfs_upload(self, match, query, headers, body) -> None:
        oid = match.group("oid")
        if hashlib.sha256(body).hexdigest() != oid:
            raise HttpError(400, f"uploaded content does not match sha256 {oid}")
        with self.server_hub._lock:
            self.server_hub.lfs_objects[oid] = body
        self._send(200, b"", content_type="text/plain")

    def _do_branch(self, match, query, headers, body) -> None:
        repo = self._repo(match, headers, write=True)
        branch = match.group("branch")
        payload = json.loads(body or b"{}")
        with self.server_hub._lock:
            if branch in repo.refs:
                raise HttpError(409, f"Reference already exists: refs/heads/{branch}")
            start = self._commit(repo, payload.get("startingPoint") or "main")
            repo.refs[branch] = start.oid
        self._json(200, {})

    def _do_commit(self, match, query, headers, body) -> None:
        hub = self.server_hub
        repo = self._repo(match, headers, write=True)
        revision = match.group("rev")
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header: dict[str, Any] = next((item["value"] for item in lines if item["key"] == "header"), {})
        with hub._lock:
            base = self._commit(repo, revision)
            if revision not in repo.refs:
                raise HttpError(400, f"Cannot commit to {revision!r}: not a branch", "RevisionNotFound")
            parent = header.get("parentCommit")
            if parent and parent != base.oid:
                raise HttpError(412, f"A commit has happened since {parent}. Please refresh and try again.")
            files = dict(base.files)
            for item in lines:
                key, value = item["key"], item.get("value", {})
                if key == "file":
                    content = (
                        base64.b64decode(value["content"])
                        if value.get("encoding") == "base64"
                        else value["content"].encode()
                    )
                    files[value["path"]] = StoredFile(content, lfs=False)
                elif key == "lfsFile":
                    data = hub.lfs_objects.get(value["oid"])
                    if data is None:
                        raise HttpError(422, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                    files[value["path"]] = StoredFile(data, lfs=True)
                elif key == "deletedFile":
                    if files.pop(value["path"], None) is None:
                        raise HttpError(404, f"A file with this name doesn't exist: {value['path']}", "EntryNotFound")
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    for p in [p for p in files if p.startswith(prefix)]:
                        del files[p]
                elif key != "header":
                    raise HttpError(400, f"unsupported commit operation {key!r}")
            oid = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
            repo.commits[oid] = Commit(
                oid, base.oid, header.get("summary", ""), header.get("description", ""), _now(), files
            )
            pr_url = None
            if query.get("create_pr") in ("1", "true", "True"):
                repo.pr_count += 1
                repo.refs[f"refs/pr/{repo.pr_count}"] = oid
                pr_url = f"{hub._url(repo)}/discussions/{repo.pr_count}"
            else:
                repo.refs[revision] = oid
        self._json(
            200,
            {
                "success": True,
                "commitOid": oid,
                "commitUrl": f"{hub._url(repo)}/commit/{oid}",
                "pullRequestUrl": pr_url,
                "commitMessage": header.get("summary", ""),
            },
        )

    def _do_tree(self, match, query, headers, body) -> None:
        repo = self._repo(match, headers)
        commit = self._commit(repo, match.group("rev"))
        base = (match.group("path") or "").strip("/")
        recursive = query.get("recursive", "False").lower() in ("1", "true")
        expand = query.get("expand", "False").lower() in ("1", "true")
        prefix = base + "/" if base else ""
        if base and base in commit.files:
            raise HttpError(400, f"{base} is a file, not a folder")
        under = {p: f for p, f in commit.files.items() if p.startswith(prefix)}
        if base and not under:
            raise HttpError(404, f"{base} does not exist on {match.group('rev')}", "EntryNotFound")
        entries: dict[str, dict[str, Any]] = {}
        for path, f in sorted(under.items()):
            rest = path[len(prefix) :].split("/")
            for depth in range(1, len(rest)):
                if not recursive and depth > 1:
                    break
                d = prefix + "/".join(rest[:depth])
                entries.setdefault(d, self._dir_entry(d, commit if expand else None))
            if recursive or len(rest) == 1:
                entries[path] = self._file_entry(path, f, commit if expand else None)
        self._json(200, list(entries.values()))

    def _do_paths_info(self, match, query, headers, body) -> None:
        repo = self._repo(match, headers)
        commit = self._commit(repo, match.group("rev"))
        ctype = headers.get("content-type", "")
        if "json" in ctype:
            payload = json.loads(body or b"{}")
            paths, expand = payload.get("paths", []), bool(payload.get("expand"))
        else:
            form = parse_qs(body.decode())
            paths = form.get("paths", [])
            expand = form.get("expand", ["False"])[-1].lower() in ("1", "true")
        out = []
        for p in paths:
            p = p.strip("/")
            if p in commit.files:
                out.append(self._file_entry(p, commit.files[p], commit if expand else None))
            elif any(q.startswith(p + "/") for q in commit.files):
                out.append(self._dir_entry(p, commit if expand else None))
        self._json(200, out)

    def _do_commits(self, match, query, headers, body) -> None:
        repo = self._repo(match, headers)
        commit: Commit | None = self._commit(repo, match.group("rev"))
        out = []
        while commit is not None:
            out.append(
                {
                    "id": commit.oid,
                    "title": commit.title,
                    "message": commit.description,
                    "authors": [{"user": self.server_hub.user}],
                    "date": commit.date,
                }
            )
            commit = repo.commits.get(commit.parent) if commit.parent else None
        self._json(200, out)

    def _do_refs(self, match, query, headers, body) -> None:
        repo = self._repo(match, headers)
        branches = [
            {"name": r, "ref": f"refs/heads/{r}", "targetCommit": o}
            for r, o in repo.refs.items()
            if not r.startswith("refs/")
        ]
        prs = [{"name": r, "ref": r, "targetCommit": o} for r, o in repo.refs.items() if r.startswith("refs/pr/")]
        self._json(200, {"branches": branches, "converts": [], "tags": [], "pullRequests": prs})

    def _do_resolve(self, match, query, headers, body) -> None:
        repo = self._repo(match, headers)
        commit = self._commit(repo, match.group("rev"))
        path = match.group("path")
        f = commit.files.get(path)
        if f is None:
            raise HttpError(404, f"Entry not found: {path}", "EntryNotFound")
        meta = {"ETag": f'"{f.etag}"', "X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes"}
        if f.lfs:
            meta.update({"X-Linked-Etag": f'"{f.sha256}"', "X-Linked-Size": str(f.size)})
        content, status = f.content, 200
        rng = headers.get("range")
        if rng and (m := re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())):
            start = int(m.group(1)) if m.group(1) else max(f.size - int(m.group(2) or 0), 0)
            end = int(m.group(2)) if m.group(1) and m.group(2) else f.size - 1
            if start >= f.size and f.size > 0:
                self._send(416, b"", {**meta, "Content-Range": f"bytes */{f.size}"})
                return
            end = min(end, f.size - 1)
            content, status = f.content[start : end + 1], 206
            meta["Content-Range"] = f"bytes {start}-{end}/{f.size}"
        self._send(status, content, meta, content_type="application/octet-stream")
