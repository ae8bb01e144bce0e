"""Pure tensor operations: noise synthesis, tiling. No file I/O here."""
