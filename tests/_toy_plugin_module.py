"""A third-party adapter as an entry point would load it (a module with hook implementations)."""

from tests._toy import ToyAdapter

_adapter = ToyAdapter()
snninit_is_neuron = _adapter.snninit_is_neuron
snninit_neuron_record = _adapter.snninit_neuron_record
