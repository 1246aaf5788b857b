"""Graphs a newcomer runs first. Each uses only `engine`."""
