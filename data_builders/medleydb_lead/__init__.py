"""MedleyDB lead-instrument annotations (seed 000). Only the annotation parsing is here so far;
the TFDS builder (`Builder`) is not written yet."""
