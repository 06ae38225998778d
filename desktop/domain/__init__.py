"""The document: recipes, layers and their validation. Pure Python + numpy; no Qt, no torch."""
