"""Redis from Debian's ``redis-server``, with AOF persistence so a restart keeps the windows."""

from __future__ import annotations

import os
import shutil
import subprocess

import redis

from deploy.stack.exceptions import StackError
from deploy.stack.service import Health, Launch, Service
from deploy.stack.tools import apt_install


class RedisService(Service):
    """Redis on 127.0.0.1, append-only file fsynced every second."""

    name = "redis"

    @property
    def port_keys(self) -> dict[str, int]:
        return {"redis_port": self.settings.redis_port}

    @property
    def version(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            return "not installed"
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
        # "Redis server v=7.0.15 sha=..." → "7.0.15"
        for word in out.stdout.split():
            if word.startswith("v="):
                return word[2:]
        return "unknown"

    def install(self) -> None:
        if shutil.which("redis-server") is None:
            apt_install("redis-server")

    def prepare(self) -> Launch:
        binary = shutil.which("redis-server")
        if binary is None:
            raise StackError("redis-server is not installed")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.settings.redis_port),
            "--dir", str(self.data_dir),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--logfile", "",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
        return Launch(argv, env, self.data_dir)

    def health(self) -> Health:
        client = redis.Redis(host="127.0.0.1", port=self.settings.redis_port, socket_timeout=2)
        try:
            return Health(bool(client.ping()), "PONG")
        except redis.RedisError as exc:
            return Health(False, f"no answer: {exc}")
        finally:
            client.close()
