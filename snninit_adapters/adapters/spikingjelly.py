"""Adapter for spikingjelly: added in the next commit."""
