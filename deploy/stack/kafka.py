"""Apache Kafka 4.x in KRaft mode (one node, broker + controller), jars from Maven Central."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from deploy.stack.exceptions import StackError
from deploy.stack.service import Health, Launch, Service
from deploy.stack.tools import find_java, maven_fetch

# Kafka's POM brings log4j-core but no SLF4J binding; without one the broker logs nothing.
_LOG4J_VERSION = "2.24.3"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>undertow.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """Configuration:
  status: warn
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.controller
        level: INFO
"""


@contextmanager
def _quiet_client() -> Iterator[None]:
    kafka_log = logging.getLogger("kafka")
    before = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        kafka_log.setLevel(before)


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding (may start with "-")."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class KafkaService(Service):
    """Single-node Kafka on 127.0.0.1: PLAINTEXT for clients, a separate controller port."""

    name = "kafka"

    @property
    def port_keys(self) -> dict[str, int]:
        s = self.settings
        return {"kafka_port": s.kafka_port, "kafka_controller_port": s.kafka_controller_port}

    @property
    def version(self) -> str:
        return self.settings.kafka_version

    @property
    def libs(self) -> Path:
        """The directory of jars that form the broker's classpath."""
        return self.cache_dir / f"kafka-{self.version}" / "libs"

    def install(self) -> None:
        if (self.libs / f"kafka_2.13-{self.version}.jar").exists():
            return
        staging = self.libs.with_name("libs.partial")
        shutil.rmtree(staging, ignore_errors=True)
        pom = _POM.format(version=self.version, log4j=_LOG4J_VERSION)
        maven_fetch(
            pom,
            ["dependency:copy-dependencies", f"-DoutputDirectory={staging}"],
            f"fetching Kafka {self.version} from Maven Central",
        )
        staging.rename(self.libs)

    def _properties(self) -> str:
        s = self.settings
        logs = self.data_dir / "kraft-logs"
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{s.kafka_controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(logs),
            "num.partitions": "3",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "log.retention.hours": "168",
        }
        return "".join(f"{k}={v}\n" for k, v in lines.items())

    def _java_env(self) -> dict[str, str]:
        java_home = find_java(self.settings.java_home, minimum=17)
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
        env["JAVA_HOME"] = str(java_home)
        return env

    def _java(self, env: dict[str, str], main: str, *args: str) -> list[str]:
        heap = self.settings.kafka_heap
        return [
            str(Path(env["JAVA_HOME"]) / "bin" / "java"),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.yaml'}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def prepare(self) -> Launch:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = self.data_dir / "server.properties"
        props.write_text(self._properties())
        (self.data_dir / "log4j2.yaml").write_text(_LOG4J2)
        env = self._java_env()
        if not (self.data_dir / "kraft-logs" / "meta.properties").exists():
            self._format(env, props)
        return Launch(self._java(env, "kafka.Kafka", str(props)), env, self.data_dir)

    def _format(self, env: dict[str, str], props: Path) -> None:
        cluster_id = new_cluster_id()
        # "=" form: a base64url id may start with "-", which would read as an option.
        argv = self._java(env, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}")
        argv += ["-c", str(props)]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")

    def health(self) -> Health:
        # While the broker starts, the client logs each refused connection as an ERROR: the
        # probe's answer says it, so those lines are kept out of the log.
        with _quiet_client():
            return self._probe()

    def _probe(self) -> Health:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=f"127.0.0.1:{self.settings.kafka_port}",
                request_timeout_ms=5000,
            )
        except KafkaError as exc:
            return Health(False, f"no metadata: {exc}")
        try:
            cluster = admin.describe_cluster()
            brokers = cluster.get("brokers", [])
            return Health(bool(brokers), f"{len(brokers)} broker(s)")
        except KafkaError as exc:
            return Health(False, f"no metadata: {exc}")
        finally:
            admin.close()
