"""A plugin that implements a hook the library does not define."""

from snninit_adapters import hookimpl


@hookimpl
def snninit_no_such_hook(module):
    return None
