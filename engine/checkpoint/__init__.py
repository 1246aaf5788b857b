"""Checkpoint storage: the protocol, the in-memory reference, and (separately) Redis."""

from .base import Checkpointer, SavedCheckpoint
from .memory import InMemorySaver, MemorySaver
from .redis import RedisSaver

__all__ = ["Checkpointer", "SavedCheckpoint", "InMemorySaver", "MemorySaver", "RedisSaver"]
