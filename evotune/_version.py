"""The package's version, importable without importing the package's names."""

__version__ = "0.1.0"
