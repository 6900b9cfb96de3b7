"""The IoT pipeline stack: `stack` provisions it (queues, tables, functions, API) on the emulator,
`processor` runs its function, `patches` adds what moto lacks, `growth` grows it to N resources, and
`limits` holds the settings `stack` and `growth` share. Imports only `sandbox.emulator` below it.
"""
