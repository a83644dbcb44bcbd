"""Built-in framework adapters: plain torch layers, snnTorch, SpikingJelly and Norse.

Each adapter imports its framework only when it meets one of the framework's modules, so the
library imports and works without any of them installed.
"""
