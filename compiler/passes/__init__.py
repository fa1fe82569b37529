"""Passes: each a function `Graph -> Graph` (plus explicit options), one per module.

A pass never mutates its input; the pass manager (`seedcc.compiler.pipeline`) runs
`ir.verify` after every pass, so a broken invariant is reported with the pass's name.
"""
