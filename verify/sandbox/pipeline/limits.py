"""The pipeline's queue and function settings that both `stack` (the base resources) and `growth`
(the grown ones) apply, here so that neither imports the other's module for them."""

from __future__ import annotations

MAX_RECEIVE_COUNT = 3  # receives before a message moves to the dead-letter queue
FUNCTION_TIMEOUT_S = 30  # the function's timeout, and so every queue's visibility timeout
