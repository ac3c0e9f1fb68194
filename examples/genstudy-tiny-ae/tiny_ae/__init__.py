"""A tiny MLP autoencoder as a genstudy model family (see README.md)."""
