"""Hatchway: a self-hosted identity control plane for multi-tenant workspace portals."""

from __future__ import annotations

__version__ = "0.1.0"
