"""The record read by auditors: events told in plain words, exports, and verification of the
hash chains against the workflows' own histories."""
