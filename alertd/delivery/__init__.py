"""Delivery: notifications to channels, concurrent and bounded, recorded, retried.

`dispatch` runs deliveries, records each before and after, and says how long to wait after a
failure (`backoff`); `channels` holds one sender per kind.
"""
