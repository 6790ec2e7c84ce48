"""Gather the row checks of a register in one place to import them from.

Each input row ends either in the canonical table or in the quarantine, where each
fault has its own row. The checks live in modules of their own:
:mod:`~assetmap.registers.values` reads numbers, areas, money and dates;
:mod:`~assetmap.registers.ids` gives stable ids;
:mod:`~assetmap.registers.quarantine` gathers faults and their reasons;
:mod:`~assetmap.registers.site_checks` and
:mod:`~assetmap.registers.request_checks` check sites and space requests;
:mod:`~assetmap.registers.shared_sites` finds sites that several agencies report.
"""

from __future__ import annotations

from .ids import stable_ids
from .quarantine import REASONS
from .request_checks import check_requests
from .shared_sites import shared_groups
from .site_checks import SiteChecks, check_sites
from .values import parse_area, parse_dates, parse_money

__all__ = [
    "REASONS",
    "SiteChecks",
    "check_requests",
    "check_sites",
    "parse_area",
    "parse_dates",
    "parse_money",
    "shared_groups",
    "stable_ids",
]
