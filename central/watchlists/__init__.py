"""Watchlists at central: stored lists, CSV import/export, and the versioned push to the boxes."""
