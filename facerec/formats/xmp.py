"""Face regions as XMP sidecars, in the Metadata Working Group's region format, which
digiKam, Lightroom Classic, darktable and exiftool read.

Each named face becomes an ``mwg-rs:Regions`` entry of type ``Face``: its name and its
area as a normalised centre (x, y) and size (w, h), in the photo as it is shown (after its
EXIF orientation), beside the dimensions they apply to; the names also go in IPTC's
``PersonInImage``. A sidecar that exists already is merged into, never replaced: every
other tag stays, and so does every region of another kind or on another face (a face drawn
by hand elsewhere in the photo), and every name of its people list; a face region over
one of ours is ours to update, and what facerec wrote there before is taken out first.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from facerec.errors import FacerecError

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NAMESPACES = {
    "x": "adobe:ns:meta/",
    "rdf": RDF,
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}
SAME_FACE_IOU = 0.5
"""A face region in a sidecar overlapping one of ours this much is the same face."""

_RESERVED_PREFIX = re.compile(r"ns\d+")
"""Prefixes ElementTree keeps for itself (it names unknown namespaces so on writing)."""
_PACKET_START = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'


@dataclass(frozen=True)
class FaceRegion:
    """A named face in normalised coordinates of the photo as shown: centre ``x``, ``y``
    and size ``w``, ``h``, each in 0..1."""

    name: str
    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_box(cls, name: str, box: Sequence[float], size: tuple[int, int]
                 ) -> FaceRegion:
        """The region of pixel box (x1, y1, x2, y2) in a photo of ``size`` (width,
        height), clipped to the photo."""
        width, height = size
        x1, x2 = (min(max(v / width, 0.0), 1.0) for v in (box[0], box[2]))
        y1, y2 = (min(max(v / height, 0.0), 1.0) for v in (box[1], box[3]))
        return cls(name, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)

    def overlap(self, other: FaceRegion) -> float:
        """Intersection over union of the two areas."""
        width = min(self.x + self.w / 2, other.x + other.w / 2) - \
            max(self.x - self.w / 2, other.x - other.w / 2)
        height = min(self.y + self.h / 2, other.y + other.h / 2) - \
            max(self.y - self.h / 2, other.y - other.h / 2)
        inter = max(width, 0.0) * max(height, 0.0)
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


def sidecar(regions: Sequence[FaceRegion], size: tuple[int, int],
            existing: bytes | None = None, written_before: Sequence[FaceRegion] = ()
            ) -> bytes:
    """The XMP sidecar naming ``regions`` of a photo of ``size`` (width, height) as
    shown, merged into ``existing`` (the sidecar's current bytes) when there is one. The
    regions ``written_before`` into it by facerec are taken out (a person removed or
    renamed since is named no more); other regions stay unless one of ``regions`` is
    over them.

    Raises:
        FacerecError: ``existing`` is not XMP that can be merged into (it is left as is).
    """
    for prefix, uri in NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    root, kept, listed = _parsed(existing) if existing else (_new_document(), [], [])
    rdf = root if root.tag == _tag("rdf", "RDF") else root.find(_tag("rdf", "RDF"))
    assert rdf is not None
    foreign = [item for item in kept
               if not any(_overlaps(item, region) for region in regions)
               and not any(_overlaps(item, region, region.name) for region in written_before)]
    description = ET.SubElement(rdf, _tag("rdf", "Description"), {_tag("rdf", "about"): ""})
    if regions or foreign:
        _write_regions(description, regions, foreign, size)
    ours_before = {region.name for region in written_before}
    names = list(dict.fromkeys(
        [name for name in listed if name not in ours_before]
        + [name for item in foreign if _is_face(item) and (name := _region_name(item))]
        + [region.name for region in regions]))
    if names:
        people = ET.SubElement(description, _tag("Iptc4xmpExt", "PersonInImage"))
        bag = ET.SubElement(people, _tag("rdf", "Bag"))
        for name in names:
            ET.SubElement(bag, _tag("rdf", "li")).text = name
    ET.indent(root, space=" ")
    return (_PACKET_START + ET.tostring(root, encoding="unicode") + _PACKET_END).encode()


def _tag(prefix: str, name: str) -> str:
    return f"{{{NAMESPACES[prefix]}}}{name}"


def _new_document() -> ET.Element:
    root = ET.Element(_tag("x", "xmpmeta"))
    ET.SubElement(root, _tag("rdf", "RDF"))
    return root


def _parsed(data: bytes) -> tuple[ET.Element, list[ET.Element], list[str]]:
    """The sidecar's document without its regions and people (taken out to be written
    again), its region list items, and the names its people list held."""
    try:
        for _, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            if prefix and prefix not in NAMESPACES and not _RESERVED_PREFIX.fullmatch(prefix):
                ET.register_namespace(prefix, uri)
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FacerecError(f"not readable XMP ({exc}); it was left as it is") from None
    if root.tag != _tag("rdf", "RDF") and root.find(_tag("rdf", "RDF")) is None:
        raise FacerecError("XMP without an rdf:RDF element; it was left as it is")
    items: list[ET.Element] = []
    listed: list[str] = []
    for rdf in root.iter(_tag("rdf", "RDF")):
        for description in rdf.findall(_tag("rdf", "Description")):
            for child in list(description):
                if child.tag == _tag("mwg-rs", "Regions"):
                    items += child.findall(f"{_tag('mwg-rs', 'RegionList')}/*/"
                                           f"{_tag('rdf', 'li')}")
                    description.remove(child)
                elif child.tag == _tag("Iptc4xmpExt", "PersonInImage"):
                    listed += [li.text.strip() for li in child.iter(_tag("rdf", "li"))
                               if li.text and li.text.strip()]
                    description.remove(child)
            if not len(description) and set(description.attrib) <= {_tag("rdf", "about")}:
                rdf.remove(description)  # emptied: ours is written anew
    return root, [item for item in items if item.find(_tag("rdf", "Description")) is not None
                  or _field(item, "mwg-rs", "Type") is not None], listed


def _write_regions(description: ET.Element, regions: Sequence[FaceRegion],
                   foreign: list[ET.Element], size: tuple[int, int]) -> None:
    holder = ET.SubElement(description, _tag("mwg-rs", "Regions"),
                           {_tag("rdf", "parseType"): "Resource"})
    ET.SubElement(holder, _tag("mwg-rs", "AppliedToDimensions"), {
        _tag("stDim", "w"): str(size[0]), _tag("stDim", "h"): str(size[1]),
        _tag("stDim", "unit"): "pixel"})
    bag = ET.SubElement(ET.SubElement(holder, _tag("mwg-rs", "RegionList")),
                        _tag("rdf", "Bag"))
    bag.extend(foreign)
    for region in regions:
        entry = ET.SubElement(ET.SubElement(bag, _tag("rdf", "li")),
                              _tag("rdf", "Description"),
                              {_tag("mwg-rs", "Name"): region.name,
                               _tag("mwg-rs", "Type"): "Face"})
        ET.SubElement(entry, _tag("mwg-rs", "Area"), {
            **{_tag("stArea", key): f"{getattr(region, key):.6f}" for key in "xywh"},
            _tag("stArea", "unit"): "normalized"})


def _field(item: ET.Element, prefix: str, name: str) -> str | None:
    """A region's field, written as an attribute or as an element (XMP allows both)."""
    for node in [item, *item.iter()]:
        if _tag(prefix, name) in node.attrib:
            return node.attrib[_tag(prefix, name)]
        child = node.find(_tag(prefix, name))
        if child is not None and child.text:
            return child.text.strip()
    return None


def _region_name(item: ET.Element) -> str | None:
    return _field(item, "mwg-rs", "Name")


def _is_face(item: ET.Element) -> bool:
    """Whether a sidecar's region is a face (a region with no type is taken as one)."""
    return (_field(item, "mwg-rs", "Type") or "Face") == "Face"


def _overlaps(item: ET.Element, region: FaceRegion, name: str | None = None) -> bool:
    """Whether a sidecar's region is a face over ``region`` (named ``name``, if given)."""
    if not _is_face(item):
        return False
    if name is not None and _region_name(item) != name:
        return False
    try:
        area = FaceRegion("", *(float(_field(item, "stArea", key) or "nan") for key in "xywh"))
    except ValueError:
        return False
    return area.overlap(region) >= SAME_FACE_IOU
