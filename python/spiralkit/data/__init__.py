"""Real bundled datasets and loaders (ARCHITECTURE.md, data/). Submodules import on demand."""
