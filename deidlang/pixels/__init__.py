"""Blank regions of DICOM pixel data: the pixel half of de-identification.

The regions come from a recipe's ``%filter`` labels (``Program.inspect(ds).regions``)
and follow deid's mask semantics: start from a mask that keeps every
pixel; each region, in order, sets ``mask[y0:y1, x0:x1]`` to blank (``coordinates``)
or keep (``keepcoordinates``); a box of ``None`` is the whole frame; the last
write wins; boxes are Python slices, so ends are exclusive, values are clipped at
the border, negative values count from the far edge and an inverted box does
nothing. The mask is applied to every frame and every sample.

Choices (docs/pixels.md):

* Blanked pixels get the stored value 0 in every sample, as deid's
  multiplication by the mask gives. For MONOCHROME1 that shows as white, for
  PALETTE COLOR it is palette entry 0; either way the text is gone.
* Colour data stored as YCbCr (YBR_FULL, YBR_FULL_422, JPEG's YBR) is decoded
  to RGB, blanked and written as RGB, so 0 means black in every viewer.
* Output is uncompressed: compressed sources become Explicit VR Little Endian,
  uncompressed sources keep their transfer syntax. With ``preserve_compression``
  a lossless source (RLE, JPEG 2000 lossless, JPEG-LS lossless) is re-encoded
  with its own codec when pydicom has an encoder for it; lossy or
  non-encodable sources are written uncompressed and the report says why.
* ``BurnedInAnnotation`` becomes ``NO`` only when pixels were blanked.

Needs numpy and pydicom's decoders (with the pylibjpeg plugins for JPEG,
JPEG-LS and JPEG 2000): ``pip install '.[pixels]'`` in a deidlang checkout. Pillow is needed
only by :func:`~.previews.write_png`. Messages name transfer syntaxes, tags and reasons,
never pixel or element values.

Where: :mod:`.clean` (masks and cleaning), :mod:`.codecs` (decoding, storing,
re-encoding), :mod:`.previews` (PNG previews). This module is the face: the names
below are the public API (``deidlang.pixels.clean_dataset``, ``masked_array``...).
May import: :mod:`deidlang.runtime` (the regions of an inspection),
:mod:`deidlang.dicomio` and :mod:`deidlang.lang`; nothing above.
"""

from __future__ import annotations

from .clean import PixelReport, blank_mask, clean_dataset, clean_pixels, masked_array
from .codecs import LOSSLESS_ENCODINGS, LOSSY_ENCODINGS, PIXEL_KEYWORDS, PixelError
from .previews import write_png, write_previews

__all__ = [
    "PixelError",
    "PixelReport",
    "masked_array",
    "clean_dataset",
    "clean_pixels",
    "blank_mask",
    "write_png",
    "write_previews",
    "PIXEL_KEYWORDS",
    "LOSSLESS_ENCODINGS",
    "LOSSY_ENCODINGS",
]
