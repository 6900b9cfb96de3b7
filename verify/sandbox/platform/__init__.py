"""The IoT platform stack: `stack` provisions it with real PostgreSQL (`postgres`) and Redis
(`redis_server`) behind RDS and ElastiCache, found by `server_binaries`; `patches` and
`engine_versions` add what moto lacks. Imports only `sandbox.emulator` below it.
"""
