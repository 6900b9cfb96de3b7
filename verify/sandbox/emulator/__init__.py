"""The AWS side of the sandbox: moto's WSGI app behind a fault middleware, and what stands around it.

`server` (the emulator, its fault middleware, threaded HTTP servers), `api_gateway` (a SigV4-checking
API Gateway stage both stacks reuse, on `sigv4`), `context` (what every stack receives and returns),
`latency` (delays and telemetry), `visibility` (when each signal became readable). Imports nothing
from the stacks, the faults or the manager above it. Empty on purpose: `sigv4` must load without moto.
"""
