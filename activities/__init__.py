"""Side effects and rule evaluations the workflows call: plain functions with typed inputs.

Every activity is idempotent: a retry never duplicates an event, task, session or message.
"""
