"""Governance levers and the design-only quantities they make (provisional: see sim.mechanics)."""

from sim.mechanics import governance_intensity, standing_levers, structure_levers

__all__ = ["governance_intensity", "standing_levers", "structure_levers"]
