"""Record id generation for the emulated org."""

from __future__ import annotations

import string

from docrelay.salesforce.ids import to_18

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

# Characters 4-6 of every id: a made-up instance ("5D") and the reserved "0".
INSTANCE_PART = "5D0"


class IdAllocator:
    """Hands out 18-character ids: key prefix, instance, then a base-62 record number."""

    def __init__(self, next_number: int = 1) -> None:
        self.next_number = next_number

    def allocate(self, key_prefix: str) -> str:
        number = self.next_number
        self.next_number += 1
        return to_18(key_prefix + INSTANCE_PART + _base62(number, 9))


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
    return "".join(reversed(digits)).rjust(width, "0")
