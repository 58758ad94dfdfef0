"""Shared bits of the Python samples: import the in-tree package, start or reach a service."""

import sys
from pathlib import Path

try:
    import acscalling  # noqa: F401
except ImportError:  # not pip-installed: use the in-tree package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bindings" / "python"))

from acscalling.service import IdentityClient, LocalService  # noqa: E402


class Service:
    """Either a service we started (stopped on exit) or one given by URL and access key."""

    def __init__(self, service_url=None, access_key=None):
        self.local = None
        if service_url:
            if not access_key:
                sys.exit("--access-key is required with --service-url")
            http = service_url.replace("wss://", "https://").replace("ws://", "http://").rstrip("/")
            self.service_url = service_url
            self.identity = IdentityClient(http, access_key)
        else:
            self.local = LocalService.start()
            self.service_url = self.local.service_url
            self.identity = self.local.identity
            print(f"started acscalling-service on {self.service_url} (media udp {self.local.media_port})")

    def close(self):
        if self.local is not None:
            self.local.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
