"""Fetching a data set's published file for users who do not have it yet."""

from __future__ import annotations

import http.client
import urllib.request

from flaxline.errors import InputError


def download(url: str, missing: str, remedy: str, timeout: float = 60.0) -> bytes:
    """The bytes at ``url``; when they cannot be fetched (offline, refused, cut off), one line:
    ``<missing> and <url> could not be downloaded (<why>); <remedy>``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (OSError, http.client.HTTPException) as error:
        raise InputError(f"{missing} and {url} could not be downloaded ({error}); {remedy}") from None
