import pytest

from tests._toy import ToyAdapter, registered


@pytest.fixture
def toy_adapter():
    """Register the toy neuron's adapter for one test."""
    with registered(ToyAdapter(), "toy") as adapter:
        yield adapter
