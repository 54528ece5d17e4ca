"""Non-neural baselines scored by the same task metrics as the models."""
