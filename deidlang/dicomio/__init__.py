"""DICOM bytes in and out, faster than pydicom's own read and write and never silently
wrong: :mod:`.fastread` (a whole small file read straight from its bytes),
:mod:`.sequences` (sequences and elements read from bytes), :mod:`.rawtext` (ASCII text
values read and written without pydicom's conversion), :mod:`.encode` (a dataset to the
bytes pydicom would write, raw elements copied as bytes), :mod:`.stream` (large values
copied from the input in chunks, hashed as written), :mod:`.damage` (what a damaged or
hostile file looks like: the reasons, the completeness checks, opening regular files
only) and :mod:`.atomic` (a file complete under its name, or not there).

Owns: every byte-level decision about reading and writing a DICOM file, and the reasons
a file is refused. Equality with pydicom is held by tests/test_fastread.py,
tests/test_sequences.py, tests/test_encode.py and tests/test_rawtext.py.
May import: :mod:`deidlang.lang` (for the base error) and pydicom; nothing above.
"""
