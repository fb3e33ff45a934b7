"""A sample core-banking HTTP API used by the Spanish demo bot (see api.py)."""

from examples.core_banking.api import DEFAULT_MOUNT, CoreBankingApi

__all__ = ["DEFAULT_MOUNT", "CoreBankingApi"]
