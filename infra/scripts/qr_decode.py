#!/usr/bin/env python3
"""Decodes the QR code in an image file with zxing-cpp and prints its text."""
import sys

import zxingcpp
from PIL import Image

found = zxingcpp.read_barcodes(Image.open(sys.argv[1]))
if not found:
    sys.exit("no QR code found")
print(found[0].text)
