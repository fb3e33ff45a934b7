"""Example code that is not part of the product (sample business systems for demos and tests)."""
