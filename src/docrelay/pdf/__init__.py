"""DocRelay's PDF layer: pure functions over bytes and plain dataclasses.

- :mod:`.source` validates and normalises uploaded template PDFs.
- :mod:`.geometry` maps field rectangles from the displayed page to PDF user space.
- :mod:`.stamp` draws field values; :mod:`.fonts` and :mod:`.text_layout` handle scripts.
- :mod:`.signature_image` renders typed signatures and checks drawn ones.
- :mod:`.audit` builds the audit trail pages.
- :mod:`.identity` and :mod:`.seal` hold sealing identities and the PAdES seal.
- :mod:`.complete` turns a signed document into its sealed completed PDF.
- :mod:`.render` turns pages into images for the signing pages.
"""
