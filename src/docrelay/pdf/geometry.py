"""Page geometry: where a field drawn on the displayed page sits in PDF user space.

Template fields are rectangles in points measured from the top-left corner
of the page as a viewer shows it, which is after the page's ``/Rotate`` and
relative to its crop box. PDF content lives in user space, whose origin is
the bottom-left corner of the unrotated media box. This module converts
between the two, resolving ``/Rotate``, ``/CropBox`` and ``/MediaBox``
inherited from the page tree.

A "display space" with the y axis pointing up is used for drawing: origin at
the bottom-left corner of the displayed page, width and height as displayed.
:func:`display_matrix` maps it to user space, so an overlay drawn upright in
display space appears upright to the reader whatever the page rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pypdf.generic import DictionaryObject

Box = tuple[float, float, float, float]
Matrix = tuple[float, float, float, float, float, float]

US_LETTER: Box = (0.0, 0.0, 612.0, 792.0)
_MAX_TREE_DEPTH = 64
# Field rectangles come from a browser editor and may overshoot by rounding.
_FIT_TOLERANCE = 0.5


class RectLike(Protocol):
    """Anything with a field rectangle in displayed points from the top-left."""

    @property
    def x(self) -> float: ...
    @property
    def y(self) -> float: ...
    @property
    def width(self) -> float: ...
    @property
    def height(self) -> float: ...


@dataclass(frozen=True)
class FieldRect:
    """A field rectangle in points, from the top-left corner of the displayed page."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class PageGeometry:
    """A page's displayed size in points, with what is needed to map into user space.

    ``crop_box`` is (left, bottom, right, top) in user space, already clipped
    to the media box. ``None`` means a box at the origin of the unrotated size.
    """

    number: int
    width: float
    height: float
    rotation: int = 0
    crop_box: Box | None = None

    @property
    def box(self) -> Box:
        if self.crop_box is not None:
            return self.crop_box
        if self.rotation in (90, 270):
            return (0.0, 0.0, self.height, self.width)
        return (0.0, 0.0, self.width, self.height)


def _inherited(page: DictionaryObject, key: str) -> Any:
    node: Any = page
    for _ in range(_MAX_TREE_DEPTH):
        if node is None:
            return None
        node = node.get_object()
        if key in node:
            return node[key].get_object()
        node = node.get("/Parent")
    raise ValueError("the page tree is nested too deeply or contains a cycle")


def _as_box(value: Any) -> Box | None:
    if value is None:
        return None
    try:
        numbers = [float(item.get_object()) for item in value]
    except (TypeError, ValueError, AttributeError):
        return None
    if len(numbers) != 4:
        return None
    left, right = sorted((numbers[0], numbers[2]))
    bottom, top = sorted((numbers[1], numbers[3]))
    return (left, bottom, right, top)


def _intersect(a: Box, b: Box) -> Box | None:
    left, bottom = max(a[0], b[0]), max(a[1], b[1])
    right, top = min(a[2], b[2]), min(a[3], b[3])
    if right <= left or top <= bottom:
        return None
    return (left, bottom, right, top)


def resolve_rotation(value: Any) -> int:
    """Normalise a ``/Rotate`` value to 0, 90, 180 or 270."""
    if value is None:
        return 0
    try:
        degrees = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"/Rotate must be a number, found {value!r}") from None
    if degrees % 90:
        raise ValueError(f"/Rotate must be a multiple of 90, found {degrees}")
    return degrees % 360


def page_geometry(page: DictionaryObject, number: int) -> PageGeometry:
    """Compute a page's displayed geometry, resolving inherited attributes.

    The crop box defaults to the media box and is clipped to it, as the PDF
    specification prescribes. A missing or invalid media box counts as US
    Letter. Raises ``ValueError`` for a rotation that is not a multiple of 90
    or a crop box outside the media box.
    """
    media = _as_box(_inherited(page, "/MediaBox")) or US_LETTER
    crop = _as_box(_inherited(page, "/CropBox")) or media
    visible = _intersect(crop, media)
    if visible is None:
        raise ValueError(f"page {number}: the crop box {crop} lies outside the media box {media}")
    rotation = resolve_rotation(_inherited(page, "/Rotate"))

    width, height = visible[2] - visible[0], visible[3] - visible[1]
    if rotation in (90, 270):
        width, height = height, width
    return PageGeometry(number, width, height, rotation, visible)


def display_matrix(geometry: PageGeometry) -> Matrix:
    """Return the matrix (a, b, c, d, e, f) from y-up display space to user space.

    A point (dx, dy) maps to (a*dx + c*dy + e, b*dx + d*dy + f). ``/Rotate``
    turns the page clockwise for display, so display space is user space
    turned counter-clockwise by the same angle and moved onto the crop box.
    """
    left, bottom, right, top = geometry.box
    if geometry.rotation == 90:
        return (0.0, 1.0, -1.0, 0.0, right, bottom)
    if geometry.rotation == 180:
        return (-1.0, 0.0, 0.0, -1.0, right, top)
    if geometry.rotation == 270:
        return (0.0, -1.0, 1.0, 0.0, left, top)
    return (1.0, 0.0, 0.0, 1.0, left, bottom)


def to_display_space(geometry: PageGeometry, rect: RectLike) -> Box:
    """Turn a top-left field rectangle into (x, y, width, height) with y up."""
    return (rect.x, geometry.height - rect.y - rect.height, rect.width, rect.height)


def to_user_space(geometry: PageGeometry, rect: RectLike) -> Box:
    """Map a field rectangle to (left, bottom, right, top) in the page's user space."""
    x, y, width, height = to_display_space(geometry, rect)
    a, b, c, d, e, f = display_matrix(geometry)
    corners = [
        (a * px + c * py + e, b * px + d * py + f) for px, py in ((x, y), (x + width, y + height))
    ]
    xs = sorted(point[0] for point in corners)
    ys = sorted(point[1] for point in corners)
    return (xs[0], ys[0], xs[1], ys[1])


def field_fits(page_geometry: PageGeometry, rect: RectLike) -> bool:
    """Tell whether a field rectangle has a positive size and lies on the displayed page."""
    if rect.width <= 0 or rect.height <= 0:
        return False
    if rect.x < -_FIT_TOLERANCE or rect.y < -_FIT_TOLERANCE:
        return False
    right_ok = rect.x + rect.width <= page_geometry.width + _FIT_TOLERANCE
    bottom_ok = rect.y + rect.height <= page_geometry.height + _FIT_TOLERANCE
    return right_ok and bottom_ok
