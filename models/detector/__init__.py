"""The plate detector: a small anchor-free (CenterNet/TTFNet-style) network, its targets and training."""
