"""The domain: aggregates and their events, and the rules of dispatch, priority and warranty.

Nothing here imports the rest of `rescue`: no store, no services, no HTTP.
"""
