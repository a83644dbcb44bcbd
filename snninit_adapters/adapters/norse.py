"""Adapter for norse: added in the next commit."""
