"""The certificate document: page, render, seal, glyphs, QR payload, PDF signing. No store access."""
