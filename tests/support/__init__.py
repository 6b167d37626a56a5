"""Test support: synthetic bad inputs, loopback stand-ins (HTTP, DANDI, figshare, the Hub, a Ray
head), pile writers and shared sizes. Imported by the tests and the benchmarks as ``tests.support``."""
