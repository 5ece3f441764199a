"""Direct transfers: presigned uploads of recordings and presigned downloads of results."""
