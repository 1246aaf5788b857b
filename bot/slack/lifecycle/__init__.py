"""Governing pauses (issue 12): what a pause's policy says, and what enforces it.

  policy.py     the effective settings of a pause: the assistant's `sluice` section, with the run's
                `config.configurable.sluice` on top; who requested the run; what a timeout resumes with
  quorum.py     N-of-M approval, recorded by one Lua script (memory: one synchronous step)
  timers.py     due times in a Redis sorted set, claimed atomically by exactly one process
  deadlines.py  reminders, timeouts and escalation, fired from those timers
"""
