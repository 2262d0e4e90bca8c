"""What every stage shares: typed errors, the typed records that become rows, and their Arrow schemas.

Nothing here imports another synthdepth package, so every stage may import it.
"""
