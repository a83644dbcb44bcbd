import pytest

from snninit_adapters import get_plugin_manager
from tests._toy import ToyAdapter


@pytest.fixture
def toy_adapter():
    """Register the toy neuron's adapter for one test."""
    manager = get_plugin_manager()
    adapter = ToyAdapter()
    manager.register(adapter, name="toy")
    try:
        yield adapter
    finally:
        manager.unregister(adapter)
