import pytest

import snninit_adapters
from snninit_adapters import FiringProbabilityUnderflowError, SNNInitError


def test_hierarchy_lets_callers_catch_value_error():
    assert issubclass(SNNInitError, ValueError)
    assert issubclass(FiringProbabilityUnderflowError, SNNInitError)


def test_public_module_path_in_reprs():
    assert SNNInitError.__module__ == "snninit_adapters"
    assert FiringProbabilityUnderflowError.__module__ == "snninit_adapters"


def test_underflow_message_says_what_and_how():
    error = FiringProbabilityUnderflowError(41.5, "(extra)")
    assert error.theta == 41.5
    message = str(error)
    assert "theta=41.5" in message
    assert "Lower the threshold" in message
    assert message.endswith("(extra)")
    with pytest.raises(ValueError, match="underflows"):
        raise error


def test_exceptions_are_exported():
    assert snninit_adapters.SNNInitError is SNNInitError
