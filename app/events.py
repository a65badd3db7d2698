"""The small typed events that webhooks turn into and jobs carry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EntityRef:
    """A Dataverse lookup value: which table, which row, and its primary name when sent."""

    logical_name: str
    id: str
    name: str | None = None


@dataclass(frozen=True)
class DataverseEvent:
    """One Dataverse webhook delivery, reduced to what the connector acts on.

    Attribute values are plain Python: str, int, bool, Decimal (numbers and money), datetime (UTC),
    list[int] (multi-select choices), EntityRef (lookups), or None.
    """

    organization_id: str
    organization_name: str | None
    entity: str
    record_id: str
    message: str
    changed_attributes: Mapping[str, Any] = field(default_factory=dict)
    pre_images: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    post_images: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    correlation_id: str | None = None
    operation_id: str | None = None
    request_id: str | None = None
    initiating_user_id: str | None = None
    user_id: str | None = None
    depth: int | None = None
    operation_created_on: datetime | None = None
    trimmed: bool = False

    def attribute(self, name: str) -> Any:
        """A column's value from the target, else the post-images, else the pre-images (first found)."""
        if name in self.changed_attributes:
            return self.changed_attributes[name]
        for images in (self.post_images, self.pre_images):
            for image in images.values():
                if name in image:
                    return image[name]
        return None

    def pre_image(self) -> Mapping[str, Any]:
        """All pre-image columns merged (aliases differ between registrations; the columns do not)."""
        merged: dict[str, Any] = {}
        for image in self.pre_images.values():
            merged.update(image)
        return merged
