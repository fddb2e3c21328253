"""Decoders for the source formats libvips cannot read on its own (or not safely): each
reads its format's header without decoding pixels, and decodes to a libvips image."""
