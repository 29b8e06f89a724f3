"""Compile-time settings shared by every kernel.

No ``nnan``/``ninf``: scoring uses NaN for missing comparisons.
"""

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
