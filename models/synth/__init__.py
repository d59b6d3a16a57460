"""Synthetic plate images: rendering, camera degradations and training samples."""
