"""What a printable record hands to its template (shared by the record views and the disclosure versions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One record ready to print: its template, what the template reads, where it came from."""

    template: str
    number: int
    back_url: str
    context: dict[str, Any] = field(default_factory=dict)
