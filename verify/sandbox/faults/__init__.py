"""Faults: `catalogue` (every fault, its stack and what it breaks), `matrix` (which checks each fault
must break), `aws_level` (AWS misbehaving: denied, throttled, 5xx, hanging...). `catalogue` and
`matrix` load without the emulator (`verify checks list` reads them), so this file stays empty.
"""
