"""MedleyDB with the seed's lead-instrument annotations (seed 000): whole songs, mix + stems,
per-frame lead-stem labels."""

from data_builders.medleydb_lead.medleydb_lead import MedleyDBLead

Builder = MedleyDBLead

__all__ = ["Builder", "MedleyDBLead"]
