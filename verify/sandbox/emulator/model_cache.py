"""botocore's data files read once per sandbox process, not once per botocore session.

moto makes many botocore sessions of its own (three at import of its EC2 models alone, one per
service-name lookup), and every new session gets a new loader that reads and JSON-decodes the same
service models and `endpoints.json` again: ~120 decodes of ~75 distinct files per platform start,
about a third of the sandbox's start-up CPU. Only the sandbox's child process (`serve`) calls
`share_botocore_data()`: that process holds nothing but the sandbox, so no harness code shares the
decoded documents.

Why sharing is safe: botocore already hands one decoded document to every user of a loader (its
`instance_cache`), so its users treat them as read-only. The one write botocore makes, merging a
service's `sdk-extras` into its model, merges the same extras again on each load, which leaves the
document as it was. The patch is guarded: a botocore without these two methods is left alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.Lock()
_INSTALLED: list[bool] = []


def share_botocore_data() -> bool:
    """Installs the process-wide caches (once); False when this botocore has no place for them."""
    from botocore import loaders

    with _LOCK:
        if _INSTALLED:
            return _INSTALLED[0]
        file_loader: Any = getattr(loaders, "JSONFileLoader", None)
        loader: Any = getattr(loaders, "Loader", None)
        load_file = getattr(file_loader, "load_file", None)
        list_services = getattr(loader, "list_available_services", None)
        if not callable(load_file) or not callable(list_services):
            _INSTALLED.append(False)
            return False
        file_loader.load_file = _cached_load_file(load_file)
        loader.list_available_services = _cached_list_services(list_services)
        _INSTALLED.append(True)
        return True


def _cached_load_file(load_file: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    documents: dict[str, Any] = {}

    def cached(self: Any, file_path: str) -> Any:
        try:
            return documents[file_path]
        except KeyError:
            pass
        document = load_file(self, file_path)
        if document is not None:  # "no such file" is asked again: a later search path may have it
            documents[file_path] = document
        return document

    return cached


def _cached_list_services(
    list_services: Callable[[Any, str], list[str]],
) -> Callable[[Any, str], list[str]]:
    # Each new loader lists ~420 service directories and stats each one's files: keyed by the
    # loader's search paths, since boto3 adds its own data path to the loaders it uses.
    listed: dict[tuple[tuple[str, ...], str], list[str]] = {}

    def cached(self: Any, type_name: str) -> list[str]:
        key = (tuple(self.search_paths), type_name)
        if key not in listed:
            listed[key] = list(list_services(self, type_name))
        return list(listed[key])

    return cached
