"""Built-in framework adapters: plain torch layers, snnTorch, SpikingJelly and Norse.

Each adapter imports its framework only when it meets one of the framework's modules, so the
library imports and works without any of them installed. :mod:`.common` holds what they share: the
"is this module mine" guard of the neuron hooks and the threshold and gain arithmetic.
"""
