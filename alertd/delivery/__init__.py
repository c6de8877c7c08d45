"""Delivery: notifications to channels, concurrent and bounded, recorded, retried.

`dispatch` runs deliveries and records each before and after; `retry` says how long to wait
after a failure; `channels` holds one sender per kind.
"""
