"""Elasticsearch 8.x from the integ-test-zip on Maven Central, run as a non-root user."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from deploy.stack.process import RunAs
from deploy.stack.service import Health, Launch, Service
from deploy.stack.tools import find_java, maven_fetch, require

_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
_FETCH_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>undertow.local</groupId><artifactId>es-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
</project>
"""


def _extract(archive: Path, target: Path) -> None:
    """Unzip keeping the executable bits (zipfile alone drops them)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, target))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                path.chmod(stat.S_IMODE(mode))


class ElasticsearchService(Service):
    """Single-node Elasticsearch on 127.0.0.1, security off, small heap."""

    name = "elasticsearch"

    @property
    def port_keys(self) -> dict[str, int]:
        s = self.settings
        return {
            "elasticsearch_port": s.elasticsearch_port,
            "elasticsearch_transport_port": s.elasticsearch_transport_port,
        }

    @property
    def version(self) -> str:
        return self.settings.elasticsearch_version

    @property
    def dist(self) -> Path:
        """The unpacked distribution."""
        return self.cache_dir / f"elasticsearch-{self.version}"

    def install(self) -> None:
        if (self.dist / "bin" / "elasticsearch").exists():
            return
        download = self.cache_dir / "downloads"
        archive = download / f"elasticsearch-{self.version}.zip"
        if not archive.exists():
            maven_fetch(
                _FETCH_POM,
                [
                    "dependency:copy",
                    f"-Dartifact={_ARTIFACT.format(version=self.version)}",
                    f"-DoutputDirectory={download}",
                ],
                f"fetching Elasticsearch {self.version} from Maven Central",
            )
        staging = self.cache_dir / f"elasticsearch-{self.version}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        _extract(archive, staging)
        (staging / f"elasticsearch-{self.version}").rename(self.dist)
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink()

    def _run_as(self) -> RunAs | None:
        """Elasticsearch refuses root: as root, run it as a dedicated system user."""
        if os.geteuid() != 0:
            return None
        user = self.settings.elasticsearch_user
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            useradd = require("useradd", "create a non-root user and set stack.elasticsearch_user")
            subprocess.run(
                [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(user)
        return RunAs(entry.pw_uid, entry.pw_gid)

    def _config(self) -> str:
        s = self.settings
        settings = {
            "cluster.name": "undertow-local",
            "node.name": "undertow-1",
            "path.data": str(self.data_dir / "data"),
            "path.logs": str(self.data_dir / "logs"),
            "network.host": "127.0.0.1",
            "http.port": s.elasticsearch_port,
            "transport.port": s.elasticsearch_transport_port,
            "discovery.type": "single-node",
            # A nearly full developer disk must not turn the indices read-only.
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.destructive_requires_name": True,
        }
        if (self.dist / "modules" / "x-pack-security").exists():
            settings["xpack.security.enabled"] = False
        return "".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items())

    def prepare(self) -> Launch:
        conf = self.data_dir / "config"
        if not conf.exists():
            shutil.copytree(self.dist / "config", conf)
        (conf / "elasticsearch.yml").write_text(self._config())
        for sub in ("data", "logs", "tmp"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        run_as = self._run_as()
        if run_as is not None:
            self._grant(run_as)
        java_home = find_java(self.settings.java_home, minimum=17)
        heap = self.settings.elasticsearch_heap
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UNDERTOW_", "ES_"))}
        env |= {
            "ES_JAVA_HOME": str(java_home),
            "ES_PATH_CONF": str(conf),
            "ES_TMPDIR": str(self.data_dir / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        }
        return Launch([str(self.dist / "bin" / "elasticsearch")], env, self.data_dir, run_as)

    def _grant(self, run_as: RunAs) -> None:
        """Give the service user its files, and a way through the directories above them."""
        for root in (self.data_dir, self.dist):
            if root.stat().st_uid == run_as.uid:
                continue
            os.chown(root, run_as.uid, run_as.gid)
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, name), run_as.uid, run_as.gid)
        # Search (x) permission only, so the user can reach its files under the project.
        for parent in {*self.data_dir.parents, *self.dist.parents}:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)

    def health(self) -> Health:
        url = f"http://127.0.0.1:{self.settings.elasticsearch_port}/_cluster/health"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                status = json.load(resp).get("status")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return Health(False, f"no answer: {exc}")
        return Health(status in ("yellow", "green"), f"cluster {status}")
