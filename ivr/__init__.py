"""IVR flows as data and their interpreter: ``flow`` (the data), ``load`` and ``check``
(reading and checking flow files), ``hours`` (business hours), ``interpreter`` (running a
call through a flow, step by step, into instructions channels/voice renders)."""
