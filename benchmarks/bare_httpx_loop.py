"""The bare outbox loop with httpx in place of aiohttp.

httpx is not a DocRelay dependency. This baseline imports it lazily: ``httpx`` when
installed, else ``httpx2`` (the fork in the test extra, same ``AsyncClient`` API). When
neither is importable the baseline is skipped and the result line gives the reason.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from types import ModuleType

from benchmarks.bare_loop import CONNECTION_LIMIT

CANDIDATE_MODULES = ("httpx", "httpx2")


def load_httpx() -> tuple[ModuleType | None, str]:
    """Return the first importable httpx module and a label such as ``httpx 0.29.0``.

    When none is importable, return ``(None, reason)``.
    """
    for name in CANDIDATE_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = getattr(module, "__version__", "unknown")
        return module, f"{name} {version}"
    return None, "skipped: neither httpx nor httpx2 is installed (pip install httpx to run it)"


class HttpxPoster:
    """POST through one httpx ``AsyncClient`` limited to the bare loop's connection count."""

    def __init__(self, module: ModuleType, limit: int = CONNECTION_LIMIT) -> None:
        self._module = module
        # trust_env=False keeps proxy variables from diverting loopback traffic.
        self.client = module.AsyncClient(
            limits=module.Limits(max_connections=limit, max_keepalive_connections=limit),
            timeout=30.0,
            trust_env=False,
        )

    async def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except self._module.HTTPError:
            return 0
        return int(response.status_code)

    async def close(self) -> None:
        await self.client.aclose()
