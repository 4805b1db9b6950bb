"""DocRelay: a self-hosted e-signature workflow service with a reliable document tracking engine."""

__version__ = "0.1.0"
