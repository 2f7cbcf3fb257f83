"""Built-in analysis plugins: image metadata, QR codes, face detection and OCR.

They are listed by dotted path in the server settings, like any other plugin, so an operator
can drop one whose dependency is unwanted. Heavy dependencies (OpenCV, Tesseract) are checked
in ``setup()`` rather than imported at module level, so a missing one makes that plugin
unavailable with an explanation instead of an import error.
"""
