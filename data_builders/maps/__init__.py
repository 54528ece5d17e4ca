"""MAPS (Emiya et al. 2010): piano recordings with aligned notes; the MUS pieces only."""

from data_builders.maps.maps import Maps, MapsConfig

Builder = Maps

__all__ = ["Builder", "Maps", "MapsConfig"]
